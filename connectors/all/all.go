// Package all registers every connector type. Only cmd/ imports it.
package all

import (
	_ "github.com/earshot-dev/earshot/connectors/appstore"      // type: appstore
	_ "github.com/earshot-dev/earshot/connectors/bluesky"       // type: bluesky
	_ "github.com/earshot-dev/earshot/connectors/discourse"     // type: discourse
	_ "github.com/earshot-dev/earshot/connectors/hackernews"    // type: hackernews
	_ "github.com/earshot-dev/earshot/connectors/mastodon"      // type: mastodon
	_ "github.com/earshot-dev/earshot/connectors/reddit"        // type: reddit
	_ "github.com/earshot-dev/earshot/connectors/rss"           // type: rss
	_ "github.com/earshot-dev/earshot/connectors/stackexchange" // type: stackexchange
	_ "github.com/earshot-dev/earshot/connectors/twitter"       // type: twitter
	_ "github.com/earshot-dev/earshot/connectors/youtube"       // type: youtube
)
