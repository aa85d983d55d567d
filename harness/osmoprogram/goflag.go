package osmoprogram

import (
	"bytes"
	"errors"
	"flag"
	"strconv"
	"strings"
)

// GoFlagDef is one flag a Go program registers on flag.CommandLine. Its default
// may come from the environment, read once when the flag is registered.
type GoFlagDef struct {
	Name    string
	Kind    string // "string", "int", "bool"
	Default string
	Env     string // variable read for the default ("" none)
	// EnvRule is how the variable is read (src/utils/env.go): "GetEnv" (a non-empty
	// value wins), "GetEnvInt" (a non-empty integer wins; anything else is ignored),
	// "GetEnvOrConfig" (GetEnv, then the key ConfigKey of the YAML file OSMO_CONFIG_FILE).
	EnvRule   string
	ConfigKey string
}

// defaultFrom is the flag's default in an environment.
func (d GoFlagDef) defaultFrom(env map[string]string) (value, source string) {
	v := env[d.Env]
	switch {
	case d.Env == "" || v == "":
	case d.EnvRule == "GetEnvInt":
		if _, err := strconv.Atoi(v); err == nil {
			return v, "env " + d.Env
		}
	default:
		return v, "env " + d.Env
	}
	if d.EnvRule == "GetEnvOrConfig" && env["OSMO_CONFIG_FILE"] != "" {
		return d.Default, "default (unless key " + d.ConfigKey + " of OSMO_CONFIG_FILE sets it)"
	}
	return d.Default, "default"
}

// parseGoFlag parses with Go's own flag package, as the program does: unknown
// flags, bad values and missing values are its errors, exit status 2; -h and
// -help print the usage and exit 0; the arguments after the flags are ignored
// (the programs never read flag.Args).
func parseGoFlag(p Program, args []string, env map[string]string, inv *Invocation) error {
	set := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	var usage bytes.Buffer
	set.SetOutput(&usage)
	sources := map[string]string{}
	for _, d := range p.Flags {
		def, source := d.defaultFrom(env)
		sources[d.Name] = source
		switch d.Kind {
		case "int":
			n, _ := strconv.Atoi(def)
			set.Int(d.Name, n, "")
		case "bool":
			b, _ := strconv.ParseBool(def)
			set.Bool(d.Name, b, "")
		default:
			set.String(d.Name, def, "")
		}
	}
	err := set.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		inv.Help = true
		return nil
	}
	if err != nil {
		msg := err.Error()
		return &Error{Program: p.Name, Flag: goFlagIn(msg), Rule: goFlagRule(msg), Status: 2, Message: msg, Output: usage.String()}
	}
	set.Visit(func(f *flag.Flag) { sources[f.Name] = "-" + f.Name })
	inv.Flags = map[string]string{}
	values := map[string]Value{}
	set.VisitAll(func(f *flag.Flag) {
		inv.Flags[f.Name] = f.Value.String()
		values[f.Name] = Value{Text: f.Value.String(), Source: sources[f.Name]}
	})
	inv.Configs = []Config{{Class: "flag.CommandLine", Values: values}}
	return nil
}

func goFlagRule(msg string) string {
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined"):
		return "unrecognized"
	case strings.HasPrefix(msg, "flag needs an argument"):
		return "expected-argument"
	case strings.HasPrefix(msg, "bad flag syntax"):
		return "syntax"
	default:
		return "type"
	}
}

func goFlagIn(msg string) string {
	for _, word := range strings.Fields(msg) {
		if strings.HasPrefix(word, "-") {
			return strings.TrimSuffix(word, ":")
		}
	}
	return ""
}
