// Package osmoprogram owns what OSMO's programs accept on their command lines and in their environment, parsed as the real programs parse them.
//
// Each program OSMO's images start (service, worker, logger, agent_service,
// delayed_job_monitor, router, backend_listener, backend_worker,
// backend_test_runner, progress_check, authz_sidecar, and the web UI's `node
// server.js`) has a table of the flags and environment variables its parser
// knows, written from NVIDIA/OSMO's sources at d59aed3c4 (each table cites its
// file and class). Parse refuses what the real program refuses — an unknown
// flag, a flag without its value, a missing required value, a value of the wrong
// type — with the real program's exit status and a message worded like its own.
package osmoprogram

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Syntax is the command-line parser a program uses.
type Syntax int

const (
	// Argparse: OSMO's StaticConfig.load (src/utils/static_config.py): Python's
	// argparse with parse_args (unknown arguments are errors, long options may be
	// abbreviated), then environment, flag, config file and default per field,
	// validated by pydantic.
	Argparse Syntax = iota
	// GoFlag: Go's flag package on the default FlagSet (ExitOnError).
	GoFlag
	// Node: node's own options, NODE_OPTIONS, then the script.
	Node
)

// Program is one OSMO command.
type Program struct {
	Name   string   // the command name in the image (what a container's command says)
	Images []string // the OSMO images (imageName) that hold it
	Source string   // where NVIDIA/OSMO defines its entry point
	Syntax Syntax
	// Parsers are the StaticConfig classes the program loads, in order: each
	// builds its own strict parser over the same argv (the agent loads two, so a
	// flag must be known to both).
	Parsers []Class
	// Flags are a GoFlag program's flags.
	Flags []GoFlagDef
	// serves says what the started program listens on and writes.
	serves func(*Invocation) Serving
}

// Value is a field's resolved value.
type Value struct {
	Text   string // as the program received it ("None" for Python's None)
	Source string // "env NAME", "--flag", "default", or "config file" (not read)
	none   bool
	raw    bool // came from the environment or the command line as text
}

// truthy is Python's truth value of the raw value pydantic's "before" validators see.
func (v Value) truthy() bool {
	switch {
	case v.none:
		return false
	case v.raw:
		return v.Text != ""
	default:
		return v.Text != "" && v.Text != "False" && v.Text != "0"
	}
}

// Config is one loaded class with its resolved values.
type Config struct {
	Class  string
	Values map[string]Value // by field name
	// FromConfigFiles are required fields left to the --config files, which Parse
	// does not read (the program fails at start when the files lack them).
	FromConfigFiles []string
}

// Invocation is a program started with a command line and an environment,
// accepted by its parser.
type Invocation struct {
	Program     string
	Args        []string
	Configs     []Config // one per parser (Argparse), in load order
	ConfigFiles []string // --config files (Argparse), in order
	Help        bool     // -h/--help: the program prints its usage and exits 0
	Script      string   // Node: the script node runs
	Flags       map[string]string
}

// Value is a field's value from the first config that has it.
func (inv *Invocation) Value(field string) (Value, bool) {
	for _, c := range inv.Configs {
		if v, ok := c.Values[field]; ok {
			return v, true
		}
	}
	if v, ok := inv.Flags[field]; ok {
		return Value{Text: v}, true
	}
	return Value{}, false
}

// Text is a field's value text, "" when the program has no such field.
func (inv *Invocation) Text(field string) string {
	v, _ := inv.Value(field)
	return v.Text
}

// Error is a refusal by a program's parser.
type Error struct {
	Program string
	Flag    string // the flag or variable concerned ("--foo", "env OSMO_POSTGRES_PORT"); "" when none
	Rule    string // unrecognized, expected-argument, ambiguous, explicit-argument, required, type, validator, script, node-option
	Message string // one line, worded as the real program words it
	Output  string // what the real program prints before it exits (usage and message)
	Status  int    // the real program's exit status
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: error: %s", e.Program, e.Message)
}

type ruleError struct{ msg string }

func (e ruleError) Error() string { return e.msg }

// Parse parses a program's command line (the arguments after the command) and
// environment as the real program would, or returns an *Error saying why the
// real program would exit. Config files named by --config are not read: the
// required fields they could supply are listed in Config.FromConfigFiles.
func Parse(program string, args []string, env map[string]string) (*Invocation, error) {
	return ParseWithFiles(program, args, env, nil)
}

// ParseWithFiles is Parse that also reads the --config files with readFile, as
// StaticConfig.load does (src/utils/static_config.py:76-81): a file that cannot
// be read, a key that is not a field, and a required value none of them gives
// are refused; their values rank below the environment and the flags.
func ParseWithFiles(program string, args []string, env map[string]string, readFile func(string) ([]byte, error)) (*Invocation, error) {
	p, ok := Lookup(program)
	if !ok {
		return nil, &Error{Program: program, Rule: "unknown-program", Status: 127,
			Message: fmt.Sprintf("%s is not an OSMO program (known: %s)", program, strings.Join(Names(), ", "))}
	}
	inv := &Invocation{Program: p.Name, Args: slices.Clone(args)}
	var err error
	switch p.Syntax {
	case Argparse:
		err = parseArgparse(p, args, env, readFile, inv)
	case GoFlag:
		err = parseGoFlag(p, args, env, inv)
	case Node:
		err = parseNode(p, args, env, inv)
	}
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// Lookup is the program with a command name.
func Lookup(name string) (Program, bool) {
	p, ok := programs[name]
	return p, ok
}

// Names are the command names of every program, sorted.
func Names() []string {
	var out []string
	for name := range programs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Serves is what the program, started as inv says, listens on and writes.
func (inv *Invocation) Serves() Serving {
	p, _ := Lookup(inv.Program)
	if p.serves == nil || inv.Help {
		return Serving{}
	}
	return p.serves(inv)
}

// FlagNames are every flag a program's parsers accept (a flag must be known to
// every parser the program builds), sorted, with their dashes.
func (p Program) FlagNames() []string {
	var common map[string]bool
	switch p.Syntax {
	case Argparse:
		for _, c := range p.Parsers {
			names := map[string]bool{"--config": true, "--help": true, "-h": true}
			for _, f := range c.Fields {
				if f.Flag != "" {
					names["--"+f.Flag] = true
				}
			}
			if common == nil {
				common = names
				continue
			}
			for n := range common {
				if !names[n] {
					delete(common, n)
				}
			}
		}
	case GoFlag:
		common = map[string]bool{"-h": true, "-help": true}
		for _, f := range p.Flags {
			common["-"+f.Name] = true
		}
	}
	out := make([]string, 0, len(common))
	for n := range common {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
