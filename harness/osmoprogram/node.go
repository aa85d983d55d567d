package osmoprogram

import (
	"fmt"
	"strconv"
	"strings"
)

// The web UI's image (src/ui/Dockerfile at d59aed3c4) runs `node server.js` in
// /app (ENTRYPOINT ["node"], CMD ["server.js"]): Next.js's standalone server,
// which reads PORT (default 3000) and HOSTNAME (the image sets 0.0.0.0) and never
// fails on them; node refuses an option in NODE_OPTIONS it does not allow there
// (exit status 9), and a script that is not in the image (exit status 1).

// nodeOption is an option node accepts in NODE_OPTIONS. The list is the part of
// node's that a chart plausibly sets; an option outside it is refused, saying so.
type nodeOption struct {
	value   string   // "" none, "int", "text", or "choice"
	choices []string // for "choice"
}

var nodeOptions = map[string]nodeOption{
	"--max-http-header-size":    {value: "int"},
	"--max-old-space-size":      {value: "int"},
	"--max-semi-space-size":     {value: "int"},
	"--enable-source-maps":      {},
	"--trace-warnings":          {},
	"--no-warnings":             {},
	"--trace-uncaught":          {},
	"--use-openssl-ca":          {},
	"--use-bundled-ca":          {},
	"--openssl-legacy-provider": {},
	"--tls-min-v1.2":            {},
	"--tls-min-v1.3":            {},
	"--report-on-signal":        {},
	"--inspect":                 {},
	"--dns-result-order":        {value: "choice", choices: []string{"ipv4first", "ipv6first", "verbatim"}},
	"--unhandled-rejections":    {value: "choice", choices: []string{"strict", "warn", "none", "throw", "warn-with-error-code"}},
	"--require":                 {value: "text"},
	"-r":                        {value: "text"},
	"--title":                   {value: "text"},
	"--heapsnapshot-signal":     {value: "text"},
}

// evalOptions run the code given on the command line instead of a script.
var evalOptions = map[string]bool{"-e": true, "--eval": true, "-p": true, "--print": true}

// nodeScripts are the scripts the web UI image holds (its WORKDIR is /app).
var nodeScripts = map[string]bool{"server.js": true, "/app/server.js": true, "./server.js": true}

func parseNode(p Program, args []string, env map[string]string, inv *Invocation) error {
	fail := func(rule, flag, msg string, status int) error {
		return &Error{Program: p.Name, Flag: flag, Rule: rule, Status: status, Message: msg, Output: "node: " + msg}
	}
	if opts, ok := env["NODE_OPTIONS"]; ok {
		tokens := strings.Fields(opts)
		for i := 0; i < len(tokens); i++ {
			name, value, hasValue := strings.Cut(tokens[i], "=")
			o, known := nodeOptions[name]
			if !known {
				return fail("node-option", name, fmt.Sprintf("%s is not allowed in NODE_OPTIONS (or is not among the options this stand-in knows)", name), 9)
			}
			if o.value == "" {
				if hasValue {
					return fail("node-option", name, fmt.Sprintf("%s does not take an argument", name), 9)
				}
				continue
			}
			if !hasValue {
				if i+1 >= len(tokens) {
					return fail("node-option", name, fmt.Sprintf("%s requires an argument", name), 9)
				}
				i++
				value = tokens[i]
			}
			switch o.value {
			case "int":
				if _, err := strconv.ParseUint(value, 10, 64); err != nil {
					return fail("type", name, fmt.Sprintf("invalid value for %s: %q (a non-negative integer)", name, value), 9)
				}
			case "choice":
				if !contains(o.choices, value) {
					return fail("type", name, fmt.Sprintf("invalid value for %s: %q (one of %s)", name, value, strings.Join(o.choices, ", ")), 9)
				}
			}
		}
	}
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		name, _, hasValue := strings.Cut(args[i], "=")
		if evalOptions[name] { // -e/-p: the code to run is the program; no script
			if !hasValue && i+1 >= len(args) {
				return fail("expected-argument", name, name+" requires an argument", 9)
			}
			inv.Script = name
			return nil
		}
		o, known := nodeOptions[name]
		if !known {
			return fail("node-option", name, "bad option: "+args[i], 9)
		}
		if o.value != "" && !hasValue {
			i++
		}
	}
	if i >= len(args) {
		return fail("script", "", "no script: node would read a program from standard input, which a container does not give it", 1)
	}
	script := args[i]
	if !nodeScripts[script] {
		return fail("script", script, fmt.Sprintf("Error: Cannot find module '/app/%s'", strings.TrimPrefix(script, "./")), 1)
	}
	inv.Script = script
	port, source := "3000", "default"
	if v, ok := env["PORT"]; ok {
		port, source = v, "env PORT"
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n <= 0 {
			port, source = "3000", "default (parseInt(PORT) is not a port)"
		}
	}
	host, hostSource := "0.0.0.0", "image ENV"
	if v, ok := env["HOSTNAME"]; ok {
		host, hostSource = v, "env HOSTNAME"
	}
	inv.Configs = []Config{{Class: "next standalone server", Values: map[string]Value{
		"port":     {Text: port, Source: source},
		"hostname": {Text: host, Source: hostSource},
	}}}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
