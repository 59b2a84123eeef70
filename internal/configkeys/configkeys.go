// Package configkeys finds the keys of a configuration that no field of its
// Go struct takes, so that a misspelled key is an error instead of a setting
// silently ignored.
//
// The collector's own unmarshalling cannot be trusted for this: a struct that
// squashes a type with its own Unmarshal method (as this exporter squashes
// confighttp.ClientConfig) is decoded with unused keys ignored, at every level
// below it. The valid keys are derived from the struct itself, the way
// mapstructure reads it: `mapstructure` tags, `,squash` embedding, nested
// structs and pointers to them, slices of structs, maps (whose keys are free
// but whose struct values are checked) and configoptional.Optional blocks
// (which also take `enabled`). Keys added to the structs are covered with no
// list to keep up to date.
package configkeys // import "github.com/posthogexporter/posthogexporter/internal/configkeys"

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Check returns one error per key of raw (a confmap's string map) that the
// struct type t has no field for, each naming its path, such as
// `spans[0].condition: unknown key; did you mean "conditions"?`.
func Check(raw map[string]any, t reflect.Type) error {
	var errs []error
	check(raw, t, "", &errs)
	return errors.Join(errs...)
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// check walks value v against type t; prefix is v's path.
func check(v any, t reflect.Type, prefix string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok || reflect.PointerTo(t).Implements(textUnmarshaler) {
			return // a scalar form (component.ID, ...): the decoder checks it
		}
		if inner, ok := optionalValue(t); ok {
			rest := make(map[string]any, len(m))
			for k, x := range m {
				if k != "enabled" {
					rest[k] = x
				}
			}
			check(rest, inner, prefix, errs)
			return
		}
		checkStruct(m, t, prefix, errs)
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return // a map given for a list (configopaque.MapList): its keys are free
		}
		for i, x := range list {
			check(x, t.Elem(), prefix+"["+strconv.Itoa(i)+"]", errs)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, k := range sortedKeys(m) {
			check(m[k], t.Elem(), join(prefix, k), errs)
		}
	}
}

func checkStruct(m map[string]any, t reflect.Type, prefix string, errs *[]error) {
	fields, open := structFields(t)
	if open {
		return
	}
	for _, k := range sortedKeys(m) {
		ft, ok := fields[k]
		if !ok {
			*errs = append(*errs, unknownKey(join(prefix, k), k, fields))
			continue
		}
		check(m[k], ft, join(prefix, k), errs)
	}
}

// structFields maps the keys of struct t to their types, squashed structs
// included. open is true when a `,remain` field takes every other key.
func structFields(t reflect.Type) (fields map[string]reflect.Type, open bool) {
	fields = map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !(f.Anonymous && hasOpt(opts, "squash"))) {
			continue
		}
		switch {
		case hasOpt(opts, "remain"):
			return nil, true
		case hasOpt(opts, "squash"):
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			inner, innerOpen := structFields(ft)
			if innerOpen {
				return nil, true
			}
			for k, v := range inner {
				fields[k] = v
			}
		default:
			if !hasTag || name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
	}
	return fields, false
}

func hasOpt(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// optionalValue reports whether t is configoptional.Optional[T], and T.
func optionalValue(t reflect.Type) (reflect.Type, bool) {
	if t.PkgPath() != "go.opentelemetry.io/collector/config/configoptional" || !strings.HasPrefix(t.Name(), "Optional[") {
		return nil, false
	}
	f, ok := t.FieldByName("value")
	if !ok {
		return nil, false
	}
	return f.Type, true
}

// sortedKeys returns m's keys in order, so that errors come in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func unknownKey(path, key string, fields map[string]reflect.Type) error {
	valid := sortedKeys(fields)
	if near := nearest(key, valid); near != "" {
		return fmt.Errorf("%s: unknown key; did you mean %q?", path, near)
	}
	return fmt.Errorf("%s: unknown key; valid keys here are %s", path, strings.Join(valid, ", "))
}

// Nearest returns the valid name closest to name by edit distance, if it is
// close enough to be a likely typo (at most a third of its length, and at
// least 1); "" otherwise.
func Nearest(name string, valid []string) string { return nearest(name, valid) }

// nearest returns the valid key closest to key by edit distance, if it is
// close enough to be a likely typo (at most a third of the key's length, and
// at least 1); "" otherwise.
func nearest(key string, valid []string) string {
	best, bestDist := "", max(1, len(key)/3)+1
	for _, v := range valid {
		if d := distance(key, v); d < bestDist {
			best, bestDist = v, d
		}
	}
	return best
}

// distance is the edit distance between a and b, in bytes, counting a swap
// of two neighbours as one edit (optimal string alignment): "tsl" is one
// edit from "tls".
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
