// Package envref names the environment variable behind an empty setting.
//
// The collector expands ${env:NAME} before a component sees its config, and
// an unset variable becomes an empty value: the component can only say
// "api_key: empty", which is what the user wrote. The name is still in the
// config files the collector was started with, so this package reads them
// back (only files given to --config as a path or file: URI; other sources
// are not read) and finds the variable a key of a posthog exporter refers to.
package envref // import "github.com/posthogexporter/posthogexporter/internal/envref"

import (
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Unset is a variable that a key refers to and that has no value.
type Unset struct {
	Name string
	Set  bool // set, but to an empty string
}

// Describe is what the user needs to hear about u.
func (u Unset) Describe() string {
	if u.Set {
		return "the environment variable " + u.Name + " is empty"
	}
	return "the environment variable " + u.Name + " is not set"
}

// Find returns the variable without a value that key of an exporter of type
// typ (such as "posthog" or "posthog/eu") refers to in the collector's config
// files, when exactly one does. The value is never read beyond its emptiness.
func Find(typ, key string) (Unset, bool) {
	return find(configFiles(os.Args[1:]), typ, key, os.LookupEnv)
}

func find(files []string, typ, key string, lookup func(string) (string, bool)) (Unset, bool) {
	found := map[string]Unset{}
	for _, f := range files {
		for _, name := range references(f, typ, key) {
			if v, ok := lookup(name); v == "" {
				found[name] = Unset{Name: name, Set: ok}
			}
		}
	}
	if len(found) != 1 {
		return Unset{}, false // none, or one per exporter: no single answer
	}
	for _, u := range found {
		return u, true
	}
	return Unset{}, false
}

// configFiles are the paths of the --config flags: "--config x.yaml",
// "--config=file:x.yaml", and the single-dash forms.
func configFiles(args []string) []string {
	var files []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(strings.TrimPrefix(args[i], "-"), "-")
		var v string
		switch {
		case a == "config" && i+1 < len(args):
			i++
			v = args[i]
		case strings.HasPrefix(a, "config="):
			v = strings.TrimPrefix(a, "config=")
		default:
			continue
		}
		if p, ok := strings.CutPrefix(v, "file:"); ok {
			files = append(files, p)
		} else if !strings.Contains(v, ":") || isWindowsPath(v) {
			files = append(files, v)
		}
	}
	return files
}

func isWindowsPath(v string) bool {
	return len(v) > 2 && v[1] == ':' && (v[2] == '\\' || v[2] == '/')
}

// reference is a whole value that is one variable without a default:
// ${env:NAME} or ${NAME}. With a default (${env:NAME:-x}) it is never empty.
var reference = regexp.MustCompile(`^\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}$`)

// references are the variables that key of the typ exporters of file refers to.
func references(file, typ, key string) []string {
	b, err := os.ReadFile(file) //nolint:gosec // G304: the collector's own --config file, which it has already read
	if err != nil {
		return nil
	}
	var doc struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
	}
	if yaml.Unmarshal(b, &doc) != nil {
		return nil
	}
	var names []string
	for id, settings := range doc.Exporters {
		if id != typ && !strings.HasPrefix(id, typ+"/") {
			continue
		}
		if s, ok := settings[key].(string); ok {
			if m := reference.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
				names = append(names, m[1])
			}
		}
	}
	return names
}
