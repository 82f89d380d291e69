package pipeline

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is one config problem: the line, the full key path and what is
// wrong. Its text is "line N: path: message" (the path is left out when the
// message already names it).
type FieldError struct {
	Line int
	Path string // e.g. sink.flush_interval, topics[1].id, connectors[0].feeds[2]
	Msg  string
}

func (e *FieldError) Error() string {
	switch {
	case e.Path == "" && e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	case e.Path == "":
		return e.Msg
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Path, e.Msg)
	}
	return e.Path + ": " + e.Msg
}

// JoinPath appends key to a key path: JoinPath("sink", "workers") is
// "sink.workers"; an index key such as "[2]" is appended as it is.
func JoinPath(path, key string) string {
	if path == "" || strings.HasPrefix(key, "[") {
		return path + key
	}
	return path + "." + key
}

// DecodeAll decodes node into v key by key, so that one bad value does not
// hide the others: an unknown key, or a value that does not decode (a type
// error, `7x` for a duration), is reported as a *FieldError with its line
// and full key path (prefixed with path), the field keeps its zero value, a
// list element that does not decode is left out, and decoding goes on. Every
// problem is returned at once (errors.Join). The keys in skip are ignored at
// the top level.
func DecodeAll(node *yaml.Node, v any, path string, skip ...string) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("pipeline: DecodeAll needs a non-nil pointer, got %T", v)
	}
	var errs []error
	decodeValue(node, rv.Elem(), path, skip, &errs)
	return errors.Join(errs...)
}

func decodeValue(n *yaml.Node, rv reflect.Value, path string, skip []string, errs *[]error) bool {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return true
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	t := rv.Type()
	if t == nodeType {
		rv.Set(reflect.ValueOf(*n))
		return true
	}
	isNull := n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
	if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) || isNull {
		return decodeLeaf(n, rv, path, errs)
	}
	switch {
	case t.Kind() == reflect.Pointer:
		elem := reflect.New(t.Elem())
		if !decodeValue(n, elem.Elem(), path, nil, errs) {
			return false
		}
		rv.Set(elem)
		return true
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string][]int{}
		fieldIndex(t, nil, fields)
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if containsString(skip, k.Value) {
				continue
			}
			idx, known := fields[k.Value]
			if !known {
				// Reported, but the element's known keys still count.
				*errs = append(*errs, unknownKey(k, path, fields))
				continue
			}
			if !decodeValue(val, rv.FieldByIndex(idx), JoinPath(path, k.Value), nil, errs) {
				ok = false
			}
		}
		return ok
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		out := reflect.MakeSlice(t, 0, len(n.Content))
		ok := true
		for i, c := range n.Content {
			elem := reflect.New(t.Elem()).Elem()
			if decodeValue(c, elem, JoinPath(path, "["+strconv.Itoa(i)+"]"), nil, errs) {
				out = reflect.Append(out, elem)
			} else {
				ok = false
			}
		}
		rv.Set(out)
		return ok
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		out := reflect.MakeMapWithSize(t, len(n.Content)/2)
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kv := reflect.New(t.Key()).Elem()
			if !decodeLeaf(k, kv, JoinPath(path, k.Value), errs) {
				ok = false
				continue
			}
			ev := reflect.New(t.Elem()).Elem()
			if !decodeValue(val, ev, JoinPath(path, k.Value), nil, errs) {
				ok = false
				continue
			}
			out.SetMapIndex(kv, ev)
		}
		rv.Set(out)
		return ok
	}
	return decodeLeaf(n, rv, path, errs)
}

// decodeLeaf decodes a value with yaml's own rules; on error rv is left zero.
func decodeLeaf(n *yaml.Node, rv reflect.Value, path string, errs *[]error) bool {
	tmp := reflect.New(rv.Type())
	if err := n.Decode(tmp.Interface()); err != nil {
		*errs = append(*errs, leafErrors(err, n.Line, path)...)
		return false
	}
	rv.Set(tmp.Elem())
	return true
}

var lineRe = regexp.MustCompile(`^line (\d+): `)

// leafErrors turns yaml's errors ("yaml: unmarshal errors:\n  line 3: cannot
// unmarshal …") into FieldErrors with the path.
func leafErrors(err error, line int, path string) []error {
	var fe *FieldError
	if errors.As(err, &fe) && fe.Path != "" {
		fe.Path = JoinPath(path, fe.Path)
		return []error{fe}
	}
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e, line, path)...)
		}
		return out
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	out := make([]error, 0, len(msgs))
	for _, m := range msgs {
		l := line
		if sm := lineRe.FindStringSubmatch(m); sm != nil {
			l, _ = strconv.Atoi(sm[1])
			m = m[len(sm[0]):]
		}
		out = append(out, &FieldError{Line: l, Path: path, Msg: m})
	}
	return out
}

func unknownKey(k *yaml.Node, path string, fields map[string][]int) error {
	known := make([]string, 0, len(fields))
	for f := range fields {
		known = append(known, f)
	}
	sort.Strings(known)
	msg := fmt.Sprintf("unknown key %q (known keys: %s)", JoinPath(path, k.Value), strings.Join(known, ", "))
	if path != "" {
		msg = fmt.Sprintf("unknown key %q (known keys of %s: %s)", JoinPath(path, k.Value), path, strings.Join(known, ", "))
	}
	return &FieldError{Line: k.Line, Msg: msg}
}

// fieldIndex maps the yaml keys of struct t (inline fields flattened) to
// their field indexes.
func fieldIndex(t reflect.Type, prefix []int, out map[string][]int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		idx := append(append([]int(nil), prefix...), i)
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			fieldIndex(f.Type, idx, out)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = idx
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
