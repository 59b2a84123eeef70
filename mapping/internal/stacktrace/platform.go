package stacktrace

import (
	"path"
	"regexp"
	"strings"
)

// pythonLib ends where Python's standard library begins in a path.
var pythonLib = regexp.MustCompile(`/lib/python\d+(?:\.\d+)?/`)

// PostHog's error tracking (cymbal) has its own handling for Node and
// Python frames: in-app demotion of node_modules, context lines and source
// maps for "node:javascript" (RawNodeFrame), and "python" (RawPythonFrame);
// every other language is a "custom" frame. Both read a relative
// filename and a module: grouping hashes each in-app frame's filename,
// module and function, so an install directory in the filename would make
// one bug two issues on two hosts. posthog-node makes paths relative to
// the working directory and names the module as Sentry's Node SDK does
// ("server", "router.lib:layer"); posthog-python gives the module's import
// name and the path relative to its package root ("yaml/constructor.py").
// A stack does not print the working directory or the import names, so
// they are derived from its paths, the same way on every host:
//   - a dependency's path starts at its package: after the last
//     node_modules/, site-packages/ or dist-packages/, or, for Python's
//     standard library, after lib/pythonX.Y/;
//   - an application path is relative to the deepest directory holding
//     every in-app frame of the stack.

// Platforms of the frames cymbal handles itself.
const (
	PlatformNode   = "node:javascript"
	PlatformPython = "python"
	PlatformCustom = "custom"
)

// platformFrame is what a frame gets besides posthog-go's fields. No
// abs_path: the same stack from two install directories must give the same
// frames.
type platformFrame struct {
	filename, module string
}

// platformOf tells which cymbal platform the frames of a stack take: Node
// for V8 stacks with file paths (a browser's have URLs), Python for
// tracebacks, custom otherwise.
func platformOf(lang Lang, excs []Exception) string {
	switch lang {
	case Python:
		return PlatformPython
	case JavaScript:
		for _, e := range excs {
			for _, f := range e.Frames {
				if strings.Contains(f.Filename, "://") {
					return PlatformCustom // a browser's stack
				}
			}
		}
		return PlatformNode
	}
	return PlatformCustom
}

// appRoot is what an application path is made relative to: the
// directory that holds the stack's node_modules, when every in-app frame
// is under it (a Node app's working directory, as posthog-node's paths
// start there); else the deepest directory holding every in-app frame.
func appRoot(excs []Exception) string {
	common := commonDir(excs)
	for _, e := range excs {
		for _, f := range e.Frames {
			if i := strings.Index(f.Filename, "/node_modules/"); i > 0 {
				if dir := f.Filename[:i]; common == dir || strings.HasPrefix(common, dir+"/") {
					return dir
				}
			}
		}
	}
	return common
}

// commonDir is the deepest directory holding every in-app frame.
func commonDir(excs []Exception) string {
	root, first := "", true
	for _, e := range excs {
		for _, f := range e.Frames {
			if !f.InApp || !strings.HasPrefix(f.Filename, "/") {
				continue
			}
			dir := path.Dir(f.Filename)
			if first {
				root, first = dir, false
				continue
			}
			for root != "/" && dir != root && !strings.HasPrefix(dir, root+"/") {
				root = path.Dir(root)
			}
		}
	}
	return root
}

// platformFrameOf gives a frame its relative filename and module.
func platformFrameOf(platform, root string, f Frame) platformFrame {
	pf := platformFrame{filename: f.Filename}
	rel, dependency := dependencyPath(platform, f.Filename)
	if !dependency && root != "" && strings.HasPrefix(f.Filename, root+"/") {
		rel = strings.TrimPrefix(f.Filename, root+"/")
	}
	if rel == "" {
		return pf // node:internal/..., <frozen ...>, <anonymous>: as printed
	}
	pf.filename = rel
	switch platform {
	case PlatformNode:
		pf.module = nodeModule(rel)
		if dependency {
			pf.filename = "node_modules/" + rel
		}
	case PlatformPython:
		pf.module = pythonModule(rel)
	}
	return pf
}

// dependencyPath returns a dependency's path from its package root.
func dependencyPath(platform, file string) (string, bool) {
	var marks []string
	switch platform {
	case PlatformNode:
		marks = []string{"node_modules/"}
	case PlatformPython:
		marks = []string{"site-packages/", "dist-packages/"}
	}
	for _, m := range marks {
		if i := strings.LastIndex(file, m); i >= 0 {
			return file[i+len(m):], true
		}
	}
	if platform == PlatformPython {
		if m := pythonLib.FindStringIndex(file); m != nil {
			return file[m[1]:], true
		}
	}
	return "", false
}

// nodeModule names a module as Sentry's Node SDK (and so posthog-node)
// does: the directory with dots, a colon, the file without its extension.
func nodeModule(rel string) string {
	dir, file := path.Split(rel)
	file = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(file, ".js"), ".mjs"), ".cjs")
	dir = strings.Trim(dir, "/")
	if dir == "" || dir == "." {
		return file
	}
	return strings.ReplaceAll(dir, "/", ".") + ":" + file
}

// pythonModule is the import name of a module file: its path with dots,
// without .py, a package's __init__ being the package.
func pythonModule(rel string) string {
	m := strings.TrimSuffix(rel, ".py")
	m = strings.TrimSuffix(m, "/__init__")
	return strings.ReplaceAll(m, "/", ".")
}

// wire sets a frame's platform fields on its JSON form f.
func (pf platformFrame) wire(platform string, f map[string]any) {
	f["platform"] = platform
	delete(f, "lang") // a custom frame's field
	if pf.filename != "" {
		f["filename"] = pf.filename
	}
	if pf.module != "" {
		f["module"] = pf.module
	}
	// No source is at hand for context lines; sent empty, as an SDK does
	// for a file it cannot read.
	f["pre_context"], f["post_context"] = []any{}, []any{}
}
