package osmoprogram

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// OSMO's StaticConfig.load (src/utils/static_config.py at d59aed3c4), rewritten
// in Go from its behaviour:
//  1. argparse.ArgumentParser() with --config (action append) and one option per
//     field with a command_line, action store unless the field says store_true,
//     no type (every value is text), then parse_args(): an unknown argument is an
//     error, exit status 2. Python 3.14's argparse (OSMO's .python-version is
//     3.14.2): long options may be abbreviated to a unique prefix.
//  2. per field, the first that is set: its environment variable (present at all,
//     even empty), its flag (store_true flags are always set: False when absent),
//     a --config file, its default; a List field's text is split on ",".
//  3. pydantic validates the result (lax mode): a required field without a value,
//     or a value of the wrong type, is printed and the program exits 1.

type actionKind int

const (
	actStore actionKind = iota
	actStoreTrue
	actAppend
	actHelp
)

type action struct {
	options []string // "-h", "--help"
	dest    string
	kind    actionKind
}

func (a *action) name() string { return strings.Join(a.options, "/") }

type argParser struct {
	prog    string
	actions []*action
	byOpt   map[string]*action
	order   []string // option strings in the order they were added (Python dict order)
}

func newArgParser(prog string, c Class) *argParser {
	p := &argParser{prog: prog, byOpt: map[string]*action{}}
	p.add(&action{options: []string{"-h", "--help"}, dest: "help", kind: actHelp})
	p.add(&action{options: []string{"--config"}, dest: "config", kind: actAppend})
	for _, f := range c.Fields {
		if f.Flag == "" {
			continue
		}
		kind := actStore
		if f.StoreTrue {
			kind = actStoreTrue
		}
		p.add(&action{options: []string{"--" + f.Flag}, dest: f.Flag, kind: kind})
	}
	return p
}

func (p *argParser) add(a *action) {
	p.actions = append(p.actions, a)
	for _, o := range a.options {
		p.byOpt[o] = a
		p.order = append(p.order, o)
	}
}

// usage is argparse's usage line.
func (p *argParser) usage() string {
	parts := []string{"usage: " + p.prog}
	for _, a := range p.actions {
		switch a.kind {
		case actHelp:
			parts = append(parts, "[-h]")
		case actStoreTrue:
			parts = append(parts, "["+a.options[0]+"]")
		default:
			parts = append(parts, fmt.Sprintf("[%s %s]", a.options[0], strings.ToUpper(a.dest)))
		}
	}
	return strings.Join(parts, " ")
}

// optional is argparse's reading of one argument: an option (action nil when
// unknown) with an explicit "=value", or a positional (ok false).
type optional struct {
	action   *action
	option   string
	explicit *string
	eq       bool // the explicit value followed "="
}

var negativeNumber = regexp.MustCompile(`^-\.?\d`)

// classify is argparse's _parse_optional.
func (p *argParser) classify(arg string) (optional, bool, error) {
	if arg == "" || arg[0] != '-' {
		return optional{}, false, nil
	}
	if a, ok := p.byOpt[arg]; ok {
		return optional{action: a, option: arg}, true, nil
	}
	if len(arg) == 1 {
		return optional{}, false, nil
	}
	if name, value, found := strings.Cut(arg, "="); found {
		if a, ok := p.byOpt[name]; ok {
			return optional{action: a, option: name, explicit: &value, eq: true}, true, nil
		}
	}
	matches := p.prefixMatches(arg)
	if len(matches) > 1 {
		var names []string
		for _, m := range matches {
			names = append(names, m.option)
		}
		return optional{}, false, fmt.Errorf("ambiguous option: %s could match %s", arg, strings.Join(names, ", "))
	}
	if len(matches) == 1 {
		return matches[0], true, nil
	}
	if negativeNumber.MatchString(arg) {
		return optional{}, false, nil // no option looks like a negative number
	}
	if strings.Contains(arg, " ") {
		return optional{}, false, nil
	}
	return optional{option: arg}, true, nil
}

// prefixMatches is argparse's _get_option_tuples with allow_abbrev.
func (p *argParser) prefixMatches(arg string) []optional {
	var out []optional
	prefix, value, found := strings.Cut(arg, "=")
	var explicit *string
	if found {
		explicit = &value
	}
	if strings.HasPrefix(arg, "--") {
		for _, o := range p.order {
			if strings.HasPrefix(o, prefix) {
				out = append(out, optional{action: p.byOpt[o], option: o, explicit: explicit, eq: found})
			}
		}
		return out
	}
	short, shortValue := arg[:2], arg[2:]
	for _, o := range p.order {
		if o == short {
			v := shortValue
			out = append(out, optional{action: p.byOpt[o], option: o, explicit: &v})
		} else if strings.HasPrefix(o, prefix) {
			out = append(out, optional{action: p.byOpt[o], option: o, explicit: explicit, eq: found})
		}
	}
	return out
}

// parsed is what parse_args returns: each dest's value (absent: None, except
// store_true: False; append: a list).
type parsed struct {
	values  map[string]string
	given   map[string]bool
	configs []string
	help    bool
}

// parse is argparse's parse_args over args.
func (p *argParser) parse(args []string) (*parsed, error) {
	kinds := make([]byte, len(args)) // 'O' option, 'A' argument, '-' the "--" marker
	opts := make([]optional, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			kinds[i] = '-'
			for j := i + 1; j < len(args); j++ {
				kinds[j] = 'A'
			}
			break
		}
		o, isOption, err := p.classify(args[i])
		if err != nil {
			return nil, err
		}
		if isOption {
			kinds[i], opts[i] = 'O', o
		} else {
			kinds[i] = 'A'
		}
	}
	out := &parsed{values: map[string]string{}, given: map[string]bool{}}
	var extras []string
	for i := 0; i < len(args); {
		switch kinds[i] {
		case '-':
			i++
			continue
		case 'A':
			extras = append(extras, args[i])
			i++
			continue
		}
		o := opts[i]
		a := o.action
		if a == nil {
			extras = append(extras, args[i])
			i++
			continue
		}
		var value string
		next := i + 1
		takesValue := a.kind == actStore || a.kind == actAppend
		switch {
		case o.explicit != nil && takesValue:
			value = *o.explicit
		case o.explicit != nil:
			// "-hx" is -h followed by short flags: argparse takes -h, which prints
			// the help and exits before the rest matters. "-h=x", "--help=x" and
			// "--enable_metrics=x" give a flag without a value a value.
			short := !strings.HasPrefix(o.option, "--")
			if !(short && *o.explicit != "" && !o.eq && (*o.explicit)[0] != '-' && a.kind == actHelp) {
				return nil, fmt.Errorf("argument %s: ignored explicit argument %s", a.name(), pyRepr(*o.explicit))
			}
		case takesValue:
			if next >= len(args) || kinds[next] != 'A' {
				return nil, fmt.Errorf("argument %s: expected one argument", a.name())
			}
			value = args[next]
			next++
		}
		switch a.kind {
		case actHelp:
			out.help = true
			return out, nil // argparse prints the help and exits 0 at once
		case actAppend:
			out.configs = append(out.configs, value)
		case actStoreTrue:
			out.values[a.dest] = "True"
			out.given[a.dest] = true
		default:
			out.values[a.dest] = value
			out.given[a.dest] = true
		}
		i = next
	}
	if len(extras) > 0 {
		return nil, fmt.Errorf("unrecognized arguments: %s", strings.Join(extras, " "))
	}
	return out, nil
}

// pyRepr is Python's repr of a str, for argparse's messages.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

func parseArgparse(p Program, args []string, env map[string]string, readFile func(string) ([]byte, error), inv *Invocation) error {
	for _, c := range p.Parsers {
		parser := newArgParser(p.Name, c)
		got, err := parser.parse(args)
		if err != nil {
			return &Error{Program: p.Name, Flag: flagIn(err.Error()), Rule: argparseRule(err.Error()), Status: 2,
				Message: err.Error(), Output: parser.usage() + "\n" + p.Name + ": error: " + err.Error()}
		}
		if got.help {
			inv.Help = true
			return nil
		}
		inv.ConfigFiles = got.configs
		var files map[string]Value
		if readFile != nil {
			if files, err = readConfigFiles(p.Name, c, got.configs, readFile); err != nil {
				return err
			}
		}
		config, err := resolve(p.Name, c, got, env, files)
		if err != nil {
			return err
		}
		inv.Configs = append(inv.Configs, config)
	}
	return nil
}

func argparseRule(msg string) string {
	switch {
	case strings.HasPrefix(msg, "unrecognized arguments"):
		return "unrecognized"
	case strings.HasPrefix(msg, "ambiguous option"):
		return "ambiguous"
	case strings.HasSuffix(msg, "expected one argument"):
		return "expected-argument"
	default:
		return "explicit-argument"
	}
}

// flagIn is the option an argparse message names first ("--help" for "-h/--help").
func flagIn(msg string) string {
	for _, word := range strings.Fields(msg) {
		if strings.HasPrefix(word, "-") {
			names := strings.Split(strings.TrimSuffix(word, ":"), "/")
			return names[len(names)-1]
		}
	}
	return ""
}

// resolve is load()'s second half: each field's value by priority, then pydantic.
func resolve(program string, c Class, got *parsed, env map[string]string, files map[string]Value) (Config, error) {
	config := Config{Class: c.Name, Values: map[string]Value{}}
	var missing []Field
	for _, f := range c.Fields {
		if text, ok := env[f.Env]; f.Env != "" && ok {
			config.Values[f.Name] = Value{Text: text, Source: "env " + f.Env, raw: true}
			continue
		}
		if f.Flag != "" && f.StoreTrue {
			text := "False"
			if got.given[f.Flag] {
				text = "True"
			}
			config.Values[f.Name] = Value{Text: text, Source: "--" + f.Flag}
			continue
		}
		if text, ok := got.values[f.Flag]; f.Flag != "" && ok {
			config.Values[f.Name] = Value{Text: text, Source: "--" + f.Flag, raw: true}
			continue
		}
		if v, ok := files[f.Name]; ok {
			config.Values[f.Name] = v
			continue
		}
		switch {
		case f.Required && len(got.configs) > 0 && files == nil:
			config.FromConfigFiles = append(config.FromConfigFiles, f.Name)
		case f.Required:
			missing = append(missing, f)
		case f.Nullable && f.Default == "":
			config.Values[f.Name] = Value{Text: "None", Source: "default", none: true}
		default:
			config.Values[f.Name] = Value{Text: f.Default, Source: "default"}
		}
	}
	// pydantic runs the model's "before" validator first; when it raises, that is
	// the only error reported.
	if c.Check != nil {
		if err := c.Check(config.Values); err != nil {
			msg := "Value error, " + err.Error()
			return config, &Error{Program: program, Rule: "validator", Status: 1, Message: c.Name + ": " + msg,
				Output: fmt.Sprintf("{'type': 'value_error', 'loc': (), 'msg': %s}", pyRepr(msg))}
		}
	}
	var problems, output []string
	first := ""
	for _, f := range c.Fields {
		v, ok := config.Values[f.Name]
		if !ok || v.none {
			continue
		}
		if err := convert(f, v.Text); err != nil {
			where := v.Source
			problems = append(problems, fmt.Sprintf("%s (%s): %s: %s", f.Name, where, err.msg, pyRepr(v.Text)))
			output = append(output, fmt.Sprintf("{'type': '%s', 'loc': ('%s',), 'msg': %s, 'input': %s}", err.kind, f.Name, pyRepr(err.msg), pyRepr(v.Text)))
			if first == "" {
				first = where
			}
		}
	}
	for _, f := range missing {
		ways := []string{"config file key " + f.Name}
		lines := []string{"ERROR: No value provided for config " + f.Name + " via any of the following methods:", "- Config file key: " + f.Name}
		if f.Flag != "" {
			ways = append(ways, "--"+f.Flag)
			lines = append(lines, "- Command line argument: --"+f.Flag)
		}
		if f.Env != "" {
			ways = append(ways, "env "+f.Env)
			lines = append(lines, "- Environment variable: "+f.Env)
		}
		problems = append(problems, fmt.Sprintf("%s: required, no value provided via %s", f.Name, strings.Join(ways, ", ")))
		output = append(output, lines...)
		if first == "" {
			first = "--" + f.Flag
		}
	}
	if len(problems) > 0 {
		rule := "type"
		if len(missing) > 0 && len(missing) == len(problems) {
			rule = "required"
		}
		return config, &Error{Program: program, Flag: first, Rule: rule, Status: 1,
			Message: c.Name + ": " + strings.Join(problems, "; "), Output: strings.Join(output, "\n")}
	}
	return config, nil
}

// readConfigFiles is load()'s config files: each YAML file updates the values in
// order (the later wins), and a key that is not one of the class's fields is a
// ValueError, exit status 1.
func readConfigFiles(program string, c Class, paths []string, readFile func(string) ([]byte, error)) (map[string]Value, error) {
	known := map[string]bool{}
	for _, f := range c.Fields {
		known[f.Name] = true
	}
	out := map[string]Value{}
	for _, path := range paths {
		data, err := readFile(path)
		if err != nil {
			msg := fmt.Sprintf("FileNotFoundError: [Errno 2] No such file or directory: %s", pyRepr(path))
			return nil, &Error{Program: program, Flag: "--config", Rule: "config-file", Status: 1, Message: msg, Output: msg}
		}
		values := map[string]any{}
		if err := yaml.Unmarshal(data, &values); err != nil {
			msg := fmt.Sprintf("yaml.YAMLError in %s: %v", path, err)
			return nil, &Error{Program: program, Flag: "--config", Rule: "config-file", Status: 1, Message: msg, Output: msg}
		}
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !known[k] {
				msg := fmt.Sprintf("ValueError: Unrecognized key \"%s\" in config file %s", k, path)
				return nil, &Error{Program: program, Flag: "--config", Rule: "config-file", Status: 1, Message: msg, Output: msg}
			}
			out[k] = yamlValue(values[k], path)
		}
	}
	return out, nil
}

// yamlValue is a YAML value as the text pydantic would validate.
func yamlValue(v any, path string) Value {
	source := "config file " + path
	switch v := v.(type) {
	case nil:
		return Value{Text: "None", Source: source, none: true}
	case bool:
		if v {
			return Value{Text: "True", Source: source}
		}
		return Value{Text: "False", Source: source}
	case string:
		return Value{Text: v, Source: source, raw: true}
	case []any:
		parts := make([]string, len(v))
		for i, item := range v {
			parts[i] = fmt.Sprint(item)
		}
		return Value{Text: strings.Join(parts, ","), Source: source, raw: true}
	default:
		return Value{Text: fmt.Sprint(v), Source: source, raw: true}
	}
}
