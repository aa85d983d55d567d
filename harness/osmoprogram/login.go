package osmoprogram

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// None reports Python's None: a nullable field nobody set.
func (v Value) None() bool { return v.none }

// operators are the programs that log in to the OSMO service as they start
// (src/operator/backend_listener.py and backend_worker.py call
// login.get_headers before their first request).
var operators = map[string]bool{"backend_listener": true, "backend_worker": true}

// Credential is what an operator program would log in with, read as
// src/operator/utils/login.py get_login_info reads it (before any request):
// dev needs a username; password needs a username and password_file, which
// must exist, else password; token reads token_file, which must exist, else
// token. Errors carry OSMO's messages (osmo_errors.OSMOUserError's text). A
// program that does not log in gets ("", nil). readFile reads a file as the
// program would (os.ReadFile in the stand-in); the secret is returned for the
// caller (the stand-in drops it).
func Credential(inv *Invocation, readFile func(string) ([]byte, error)) (string, error) {
	if !operators[inv.Program] {
		return "", nil
	}
	set := func(field string) (string, bool) {
		v, ok := inv.Value(field)
		return v.Text, ok && !v.None()
	}
	if method, _ := set("method"); method == "dev" {
		if _, ok := set("username"); !ok {
			return "", ruleError{"Must provide username for dev"}
		}
		return "dev", nil
	}
	fromFile := func(fileField, inline, what string) (string, error) {
		if path, ok := set(fileField); ok {
			data, err := readFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return "", ruleError{fmt.Sprintf("The file %s does not exist!", path)}
			}
			if err != nil {
				return "", fmt.Errorf("%s: %w", fileField, err)
			}
			return strings.Trim(string(data), "\n"), nil
		}
		if v, ok := set(inline); ok {
			return v, nil
		}
		return "", ruleError{"Must provide " + what}
	}
	switch login, _ := set("login_method"); login {
	case "password":
		if _, ok := set("username"); !ok {
			return "", ruleError{"Must provide username"}
		}
		return fromFile("password_file", "password", "password")
	case "token":
		return fromFile("token_file", "token", "token")
	default:
		return "", ruleError{"Invalid login method: " + login}
	}
}
