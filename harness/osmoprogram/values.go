package osmoprogram

import (
	"regexp"
	"strconv"
	"strings"
)

// pydantic's lax-mode conversions of text, for the types OSMO's fields use
// (pydantic 2.12.5, src/requirements.txt at d59aed3c4), and LoggingLevel.parse
// (src/lib/utils/logging.py).

type conversionError struct {
	kind string // pydantic's error type
	msg  string // pydantic's message
}

var (
	intText      = regexp.MustCompile(`^[+-]?\d+(_\d+)*$`)
	floatText    = regexp.MustCompile(`^[+-]?(\d+(_\d+)*)?(\.\d*)?([eE][+-]?\d+)?$`)
	boolTrue     = []string{"1", "on", "t", "true", "y", "yes"}
	boolFalse    = []string{"0", "off", "f", "false", "n", "no"}
	levelNumbers = map[int]bool{50: true, 40: true, 30: true, 20: true, 10: true}
	levelNames   = []string{"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", "FATAL", "WARN"}
)

func convert(f Field, text string) *conversionError {
	switch f.Type {
	case Int:
		t := strings.TrimSpace(text)
		if !intText.MatchString(t) {
			// "8.0" is an integer to pydantic; "8.5" is not.
			if t != "" && t != "." && floatText.MatchString(t) && strings.ContainsAny(t, ".eE") {
				v, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
				if err == nil && v != float64(int64(v)) {
					return &conversionError{"int_from_float", "Input should be a valid integer, got a number with a fractional part"}
				}
				if err == nil {
					return positiveCheck(f, v)
				}
			}
			return &conversionError{"int_parsing", "Input should be a valid integer, unable to parse string as an integer"}
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
		if err != nil {
			return &conversionError{"int_parsing", "Input should be a valid integer, unable to parse string as an integer"}
		}
		return positiveCheck(f, v)
	case Bool:
		t := strings.ToLower(strings.TrimSpace(text))
		for _, ok := range append(append([]string{}, boolTrue...), boolFalse...) {
			if t == ok {
				return nil
			}
		}
		return &conversionError{"bool_parsing", "Input should be a valid boolean, unable to interpret input"}
	case Level:
		if text != "" && strings.Trim(text, "0123456789") == "" {
			n, _ := strconv.Atoi(text)
			if !levelNumbers[n] {
				return &conversionError{"value_error", "Value error, " + strconv.Itoa(n) + " is not a valid LoggingLevel"}
			}
			return nil
		}
		name := strings.ToUpper(strings.TrimSpace(text))
		for _, n := range levelNames {
			if name == n {
				return nil
			}
		}
		return &conversionError{"value_error", `Value error, Invalid logging level: "` + text + `". Valid levels are: ` + strings.Join(levelNames, ", ")}
	case Literal:
		for _, c := range f.Choices {
			if text == c {
				return nil
			}
		}
		quoted := make([]string, len(f.Choices))
		for i, c := range f.Choices {
			quoted[i] = "'" + c + "'"
		}
		return &conversionError{"literal_error", "Input should be " + orList(quoted)}
	}
	return nil
}

func positiveCheck(f Field, v float64) *conversionError {
	if f.Positive && v <= 0 {
		return &conversionError{"greater_than", "Input should be greater than 0"}
	}
	return nil
}

// orList is pydantic's "'a' or 'b'", "'a', 'b' or 'c'".
func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
