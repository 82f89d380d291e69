package pipeline

import (
	"errors"
	"fmt"
)

// PrefixErrors joins errs into one error, one problem per line, each
// prefixed with where (a ConnectorSpec.Where). Errors joined inside errs
// are flattened, so every problem gets its own line.
func PrefixErrors(where string, errs []error) error {
	var out []error
	var flat func(error)
	flat = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				flat(x)
			}
			return
		}
		out = append(out, fmt.Errorf("%s: %w", where, e))
	}
	for _, e := range errs {
		flat(e)
	}
	return errors.Join(out...)
}
