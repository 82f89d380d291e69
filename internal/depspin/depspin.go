// Package depspin pins the module's dependencies while packages are being
// written in parallel; it is removed once every dependency is imported.
package depspin

import (
	_ "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/PuerkitoBio/goquery"
	_ "github.com/dghubble/go-twitter/twitter"
	_ "github.com/jonreiter/govader"
	_ "github.com/mmcdole/gofeed"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/net/html"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/text/unicode/norm"
	_ "golang.org/x/time/rate"
)
