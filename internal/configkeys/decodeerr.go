package configkeys

import (
	"errors"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// Unwrap turns the collector decoder's error into one error per problem,
// each starting with the path of its key: "trace_context.wait: time:
// invalid duration "7" ..." instead of "decoding failed due to the
// following error(s): 'trace_context.wait' time: ...". Errors of other
// kinds are returned as they are.
func Unwrap(err error) error {
	var problems []error
	flatten(err, "", &problems)
	if len(problems) == 0 {
		return err
	}
	return errors.Join(problems...)
}

// flatten collects the leaves of err's tree; path is the innermost key
// named so far.
func flatten(err error, path string, out *[]error) {
	switch e := err.(type) { //nolint:errorlint // walks the tree itself, one layer at a time
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			flatten(inner, path, out)
		}
		return
	case *mapstructure.DecodeError:
		path = joinPath(path, e.Name())
		flatten(e.Unwrap(), path, out)
		return
	}
	if isDecoderWrapper(err) {
		flatten(errors.Unwrap(err), path, out)
		return
	}
	if path == "" {
		*out = append(*out, err)
		return
	}
	*out = append(*out, errors.New(path+": "+err.Error()))
}

// isDecoderWrapper is the decoder's own "decoding failed due to the
// following error(s)" layer around the errors it joined.
func isDecoderWrapper(err error) bool {
	return strings.HasPrefix(err.Error(), "decoding failed due to the following error(s):") && errors.Unwrap(err) != nil
}

// joinPath names a key below path. A decoder names keys from its own root,
// so a name that does not start with path comes from a nested decoder (a
// block with its own Unmarshal, such as trace_context) and is relative.
func joinPath(path, name string) string {
	switch {
	case name == "":
		return path
	case path == "", name == path, strings.HasPrefix(name, path+"."), strings.HasPrefix(name, path+"["):
		return name
	}
	return path + "." + name
}
