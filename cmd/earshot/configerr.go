package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/pipeline"
)

// problems collects every config problem, each with its line when the key
// is in the file, and reports them in line order.
type problems struct {
	file   string
	lines  map[string]int // key path -> line
	topics map[string]int // topic id -> index
	// connectors maps a connector name to its index; failed holds the key
	// paths whose values did not decode.
	connectors map[string]int
	failed     map[string]bool
	list       []problem
}

type problem struct {
	line int
	text string
}

// bad reports a problem with the value at path (e.g. "topics[1].id").
func (p *problems) bad(path, format string, args ...any) {
	p.list = append(p.list, problem{lineOf(p.lines, path), path + ": " + fmt.Sprintf(format, args...)})
}

// add reports errors that say where they are, one problem per line of
// their text: "line N: key.path: …" (*pipeline.FieldError), or messages that
// start with the file name and maybe a line.
func (p *problems) add(err error) {
	if err == nil {
		return
	}
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.TrimSpace(l) != "" {
			p.addText(l)
		}
	}
}

var (
	fileLineRe  = regexp.MustCompile(`^(\d+): `)
	innerLineRe = regexp.MustCompile(`line (\d+): `)
	topicRe     = regexp.MustCompile(`topic "([^"]*)": `)
	connectorRe = regexp.MustCompile(`^connector "([^"]*)" \((\w+)\): `)
	stageRe     = regexp.MustCompile(`^enrich stage (\w+): `)
	pathTokenRe = regexp.MustCompile(`^[a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*`)
)

// addText parses "file:12: …", "file: line 12: …" or "file: key.path: …".
func (p *problems) addText(msg string) {
	msg = strings.TrimPrefix(msg, p.file+":")
	line := 0
	if m := fileLineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimSpace(msg)
	// An inner "line N: " (a connector's own key) is more precise.
	innerLine := false
	if m := innerLineRe.FindStringSubmatchIndex(msg); m != nil {
		line, _ = strconv.Atoi(msg[m[2]:m[3]])
		msg = msg[:m[0]] + msg[m[1]:]
		innerLine = true
	}
	// A connector's own keys: "connector "x" (rss): key: …" is at
	// connectors[i].key; a value that did not decode is not reported again
	// by the connector's checks.
	if m := connectorRe.FindStringSubmatch(msg); m != nil {
		if i, ok := p.connectors[m[1]]; ok {
			rest := msg[len(m[0]):]
			rest = strings.TrimPrefix(rest, "invalid "+m[2]+" config: ")
			prefix := fmt.Sprintf("connectors[%d]", i)
			if tok := pathTokenRe.FindString(rest); tok != "" && strings.HasPrefix(rest[len(tok):], ":") {
				full := tok
				if !strings.HasPrefix(tok, prefix) {
					full = prefix + "." + tok
					msg = msg[:len(msg)-len(rest)] + full + rest[len(tok):]
				}
				if p.failed[full] {
					return
				}
				if strings.HasPrefix(rest[len(tok):], ": cannot unmarshal") || strings.HasPrefix(rest[len(tok):], ": a secret is given") {
					p.failed[full] = true
				}
				if l, ok := p.lines[full]; ok && !innerLine {
					line = l
				}
			}
		}
	}
	// A topic's query and a stage's options have keys of their own.
	if m := topicRe.FindStringSubmatch(msg); m != nil {
		if i, ok := p.topics[m[1]]; ok {
			path := fmt.Sprintf("topics[%d].query", i)
			if l := lineOf(p.lines, path); l > 0 {
				line, msg = l, path+": "+msg
			}
		}
	} else if m := stageRe.FindStringSubmatch(msg); m != nil {
		path := "enrich.options." + m[1]
		if l, ok := p.lines[path]; ok {
			line, msg = l, path+": "+msg[len(m[0]):]
		}
	}
	if line == 0 {
		if tok := pathTokenRe.FindString(msg); tok != "" {
			line = lineOf(p.lines, tok)
		}
	}
	p.list = append(p.list, problem{line, msg})
}

// addUnder reports the errors of a section's own Validate, whose messages
// start with a key path relative to section ("resolutions[0]: …"), or
// relative to the root ("clickhouse.addr …") when section is "".
func (p *problems) addUnder(section string, err error) {
	if err == nil {
		return
	}
	for _, msg := range strings.Split(err.Error(), "\n") {
		msg = strings.TrimPrefix(msg, detect.ErrConfig.Error()+": ")
		tok := pathTokenRe.FindString(msg)
		full := tok
		if section != "" {
			full = pipeline.JoinPath(section, tok)
			msg = section + "." + msg
		}
		p.list = append(p.list, problem{lineOf(p.lines, full), msg})
	}
}

// err joins the problems, in line order (problems without a line last).
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool {
		a, b := p.list[i].line, p.list[j].line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
	errs := make([]error, 0, len(p.list))
	seen := map[string]bool{}
	for _, pr := range p.list {
		var s string
		if pr.line > 0 {
			s = fmt.Sprintf("%s:%d: %s", p.file, pr.line, pr.text)
		} else {
			s = fmt.Sprintf("%s: %s", p.file, pr.text)
		}
		if !seen[s] {
			seen[s] = true
			errs = append(errs, errors.New(s))
		}
	}
	return errors.Join(errs...)
}

// lineOf returns the line of the key at path, or of its nearest parent in
// the file; 0 when none is.
func lineOf(lines map[string]int, path string) int {
	for path != "" {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// indexLines records the line of every key and list element under n.
func indexLines(n *yaml.Node, path string, out map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := pipeline.JoinPath(path, n.Content[i].Value)
			out[p] = n.Content[i].Line
			indexLines(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := pipeline.JoinPath(path, "["+strconv.Itoa(i)+"]")
			out[p] = c.Line
			indexLines(c, p, out)
		}
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("value (%q)", n.Value)
	}
	return "mapping"
}

var yamlLineRe = regexp.MustCompile(`line (\d+):? ?`)

// syntaxError explains a YAML syntax error. libyaml's line is often the one
// before the problem, and its message does not say what the usual cause is:
// inside a flow list [ … ], a ? or a # that is not quoted ends the value.
func syntaxError(path string, raw []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := yamlLineRe.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s: %s", path, msg)
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(raw), "\n")
	for l := max(n-1, 1); l <= min(n+2, len(lines)); l++ {
		text := lines[l-1]
		if i := strings.Index(text, "["); i >= 0 && flowTrap(text[i:]) {
			return fmt.Errorf("%s:%d: %s\n  %s\n  inside [ … ] a ? or # must be in quotes: write [\"https://…?q=…\"] or one item per line as \"- https://…\"",
				path, l, strings.TrimSpace(yamlLineRe.ReplaceAllString(msg, "")), strings.TrimSpace(text))
		}
	}
	return fmt.Errorf("%s:%d: %s", path, n, strings.TrimSpace(yamlLineRe.ReplaceAllString(msg, "")))
}

// flowTrap reports an unquoted ? or # inside a flow sequence.
func flowTrap(s string) bool {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ']':
			return false
		case c == '?' || c == '#':
			return true
		}
	}
	return false
}

// validateAddrs checks addresses and ports without touching the network, so
// `check` rejects what `run` could not listen on or dial.
func (c *Config) validateAddrs(bad func(path, format string, args ...any)) {
	if c.HTTP.Listen != "off" {
		if err := checkHostPort(c.HTTP.Listen, true); err != nil {
			bad("http.listen", "%q: %v (want host:port such as 127.0.0.1:9464, or \"off\")", c.HTTP.Listen, err)
		}
	}
	if p := c.NATS.Embedded.Port; p != -1 && (p < 1 || p > 65535) {
		bad("nats.embedded.port", "%d is not a port: want 1..65535, or -1 for a free one", p)
	}
	if h := c.NATS.Embedded.Host; !validHost(h) {
		bad("nats.embedded.host", "%q is not a host name or IP address", h)
	}
	if c.NATS.URL != "" {
		for _, u := range strings.Split(c.NATS.URL, ",") {
			if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
				bad("nats.url", "%q: %v", u, err)
			}
		}
	}
}

func checkHostPort(s string, allowEmptyHost bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("not host:port")
	}
	if host == "" && !allowEmptyHost || host != "" && !validHost(host) {
		return fmt.Errorf("host %q is not a host name or IP address", host)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q is not a number in 0..65535", port)
	}
	return nil
}

var hostRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$`)

func validHost(h string) bool {
	return net.ParseIP(h) != nil || hostRe.MatchString(h)
}

func checkNATSURL(s string) error {
	if !strings.Contains(s, "://") {
		return checkHostPort(s, false)
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("scheme %q: want nats://, tls://, ws:// or wss://", u.Scheme)
	}
	if !validHost(u.Hostname()) {
		return fmt.Errorf("host %q is not a host name or IP address", u.Hostname())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not a number in 1..65535", p)
		}
	}
	return nil
}
