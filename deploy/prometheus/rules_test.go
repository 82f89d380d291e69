// Package rules_test checks the Prometheus rules and example config in this
// directory: with promtool (Debian: apt-get install prometheus) when it is on
// PATH, and always structurally, including that every metric they use is one
// earshot registers.
package rules_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/deploy/internal/promnames"
)

type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var metricRef = regexp.MustCompile(`\b(earshot(?:_|:)[a-zA-Z0-9_:]+)`)

// unknownMetrics returns the metric names in expr that earshot does not
// export (histogram series _bucket, _sum and _count included) and that no
// recording rule in recorded defines.
func unknownMetrics(expr string, known, recorded map[string]bool) []string {
	var out []string
	for _, m := range metricRef.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if known[name] || recorded[name] {
			continue
		}
		base := name
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, s)
		}
		if !known[base] {
			out = append(out, name)
		}
	}
	return out
}

// balanced reports whether brackets and quotes pair up in a PromQL expression.
func balanced(expr string) bool {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	var quote rune
	for _, r := range expr {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case pairs[r] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && quote == 0
}

func TestRules(t *testing.T) {
	raw, err := os.ReadFile("earshot-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("earshot-rules.yml: %v", err)
	}
	known := promnames.Known()
	recorded := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	for _, g := range f.Groups {
		if g.Interval != "" {
			if _, err := time.ParseDuration(g.Interval); err != nil {
				t.Errorf("group %s: interval %q: %v", g.Name, g.Interval, err)
			}
		}
		for _, r := range g.Rules {
			name := r.Alert + r.Record
			if (r.Alert == "") == (r.Record == "") || strings.TrimSpace(r.Expr) == "" {
				t.Errorf("group %s: rule %q needs exactly one of alert and record, and an expr", g.Name, name)
				continue
			}
			if !balanced(r.Expr) {
				t.Errorf("rule %s: unbalanced brackets or quotes in %q", name, r.Expr)
			}
			if bad := unknownMetrics(r.Expr, known, recorded); len(bad) > 0 {
				t.Errorf("rule %s uses metrics earshot does not export: %v", name, bad)
			}
			if r.Record != "" {
				continue
			}
			if alerts[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			alerts[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
				}
			}
			switch r.Labels["severity"] {
			case "page", "critical", "warning", "ticket":
			default:
				t.Errorf("alert %s: severity %q; want page, critical, warning or ticket", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: want a summary and a description", r.Alert)
			}
		}
	}
	// The alerts: spikes, drops, negative surges, pipeline health.
	for _, a := range []string{"EarshotMentionSpike", "EarshotMentionDrop", "EarshotNegativeSurge", "EarshotStageErrorsRising",
		"EarshotDeadLetters", "EarshotSinkStalled", "EarshotIngestLagHigh", "EarshotDetectNoLeader"} {
		if !alerts[a] {
			t.Errorf("alert %s is missing", a)
		}
	}
}

func TestUnknownMetricsCatches(t *testing.T) {
	known := promnames.Known()
	tests := []struct {
		expr string
		want string
	}{
		{`rate(earshot_stage_errors_total[5m])`, ""},
		{`histogram_quantile(0.9, rate(earshot_ingest_lag_seconds_bucket[5m]))`, ""},
		{`earshot_topic_anomaly_score > 0.5`, ""},
		{`rate(earshot_stage_eror_total[5m])`, "earshot_stage_eror_total"},
		{`earshot:undefined:max`, "earshot:undefined:max"},
	}
	for _, tt := range tests {
		if got := strings.Join(unknownMetrics(tt.expr, known, nil), ","); got != tt.want {
			t.Errorf("unknownMetrics(%q) = %q; want %q", tt.expr, got, tt.want)
		}
	}
	if balanced(`sum(rate(x[5m])`) || !balanced(`sum by (a) (rate(x{a="("}[5m]))`) {
		t.Error("balanced() misjudges brackets")
	}
}

// TestPromtool runs promtool over the rules, their unit tests and the example
// config. `make test` installs it (scripts/ensure-test-tools.sh); without it
// the test fails rather than skips, saying how to install it.
func TestPromtool(t *testing.T) {
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not on PATH: run scripts/ensure-test-tools.sh (Debian: apt-get install prometheus), or `make test`")
	}
	for _, args := range [][]string{
		{"check", "rules", "earshot-rules.yml"},
		{"test", "rules", "earshot-rules.test.yml"},
		{"check", "config", "prometheus.yml"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
