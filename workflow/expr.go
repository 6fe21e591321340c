package workflow

import (
	"fmt"
	"strconv"
	"strings"
)

// template is a parsed string: literal text mixed with ${...} expressions.
type template struct {
	src  string
	segs []segment
	loc  location // where the string is, for errors
}

// segment is a piece of a template: literal text, or an expression.
type segment struct {
	lit string
	ref *ref
}

// refRoot is what an expression starts from.
type refRoot int

const (
	rootInput refRoot = iota // ${input...}
	rootStep                 // ${steps.ID...}
)

// stepField is the part of a step's result an expression reads.
type stepField int

const (
	fieldText   stepField = iota // output.text
	fieldData                    // output.data...
	fieldTaskID                  // task.id
	fieldStatus                  // status
)

// ref is one parsed ${...} expression.
type ref struct {
	src   string // as written, "${...}" included
	root  refRoot
	step  string    // rootStep only
	field stepField // rootStep only
	path  []selector
}

// selector is one step of a path into a JSON value: a key or an index.
type selector struct {
	key   string
	index int
	isIdx bool
}

func (s selector) String() string {
	if s.isIdx {
		return "[" + strconv.Itoa(s.index) + "]"
	}
	if isIdent(s.key) {
		return "." + s.key
	}
	return "[" + strconv.Quote(s.key) + "]"
}

// parseTemplate parses s. A "$${" stands for a literal "${"; any other "$"
// is literal.
func parseTemplate(s string) (*template, error) {
	t := &template{src: s}
	var lit strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end, err := exprEnd(s, i+2)
			if err != nil {
				return nil, err
			}
			r, err := parseRef(s[i : end+1])
			if err != nil {
				return nil, err
			}
			if lit.Len() > 0 {
				t.segs = append(t.segs, segment{lit: lit.String()})
				lit.Reset()
			}
			t.segs = append(t.segs, segment{ref: r})
			i = end + 1
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	if lit.Len() > 0 {
		t.segs = append(t.segs, segment{lit: lit.String()})
	}
	return t, nil
}

// exprEnd returns the index of the "}" closing the expression whose body
// starts at from, skipping quoted keys (which may hold a "}").
func exprEnd(s string, from int) (int, error) {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '}':
			return i, nil
		case '"':
			j, err := quotedEnd(s, i)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", s[from-2:], err)
			}
			i = j
		}
	}
	return 0, fmt.Errorf("unterminated expression %q: missing }", s[from-2:])
}

// quotedEnd returns the index of the quote closing the string opening at
// s[at].
func quotedEnd(s string, at int) (int, error) {
	for i := at + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i, nil
		}
	}
	return 0, fmt.Errorf("unterminated quoted key")
}

// whole returns the expression when the template is exactly one
// expression: its value then keeps its JSON type.
func (t *template) whole() *ref {
	if len(t.segs) == 1 {
		return t.segs[0].ref
	}
	return nil
}

// refs lists the template's expressions.
func (t *template) refs() []*ref {
	var out []*ref
	for _, s := range t.segs {
		if s.ref != nil {
			out = append(out, s.ref)
		}
	}
	return out
}

// exprHelp lists the expressions there are, for error messages.
const exprHelp = "expected ${input...}, ${steps.ID.output.text}, ${steps.ID.output.data...}, ${steps.ID.task.id} or ${steps.ID.status}"

// parseRef parses one "${...}".
func parseRef(src string) (*ref, error) {
	body := strings.TrimSpace(src[2 : len(src)-1])
	names, err := parsePath(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	r := &ref{src: src}
	bad := func(why string) (*ref, error) { return nil, fmt.Errorf("%s: %s; %s", src, why, exprHelp) }
	name := func(i int) string {
		if i < len(names) && !names[i].isIdx && names[i].dotted {
			return names[i].key
		}
		return ""
	}
	switch name(0) {
	case "input":
		r.root, r.path = rootInput, selectors(names[1:])
		return r, nil
	case "steps":
	case "":
		return bad("empty expression")
	default:
		return bad(fmt.Sprintf("unknown root %q", names[0].key))
	}
	r.root = rootStep
	if r.step = name(1); r.step == "" {
		return bad("a step id must follow steps.")
	}
	rest := names[2:]
	switch f := name(2); {
	case f == "output" && name(3) == "text" && len(rest) == 2:
		r.field = fieldText
	case f == "output" && name(3) == "data":
		r.field, r.path = fieldData, selectors(rest[2:])
	case f == "task" && name(3) == "id" && len(rest) == 2:
		r.field = fieldTaskID
	case f == "status" && len(rest) == 1:
		r.field = fieldStatus
	case f == "output" && name(3) == "text", f == "task" && name(3) == "id", f == "status":
		return bad("a string has no fields")
	default:
		return bad(fmt.Sprintf("unknown field of step %q", r.step))
	}
	return r, nil
}

// pathElem is one lexed element of a path.
type pathElem struct {
	selector
	dotted bool // written as a bare name (first element or after a dot)
}

func selectors(elems []pathElem) []selector {
	out := make([]selector, len(elems))
	for i, e := range elems {
		out[i] = e.selector
	}
	return out
}

// parsePath lexes "name(.name|[N]|["key"])*".
func parsePath(s string) ([]pathElem, error) {
	var out []pathElem
	i := 0
	ident := func() (string, error) {
		j := i
		for j < len(s) && (isIdentByte(s[j]) || j > i && (s[j] == '-' || s[j] >= '0' && s[j] <= '9')) {
			j++
		}
		if j == i || !isIdent(s[i:j]) {
			return "", fmt.Errorf("expected a name at offset %d", i)
		}
		n := s[i:j]
		i = j
		return n, nil
	}
	if s == "" {
		return nil, nil
	}
	first, err := ident()
	if err != nil {
		return nil, err
	}
	out = append(out, pathElem{selector{key: first}, true})
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			n, err := ident()
			if err != nil {
				return nil, err
			}
			out = append(out, pathElem{selector{key: n}, true})
		case '[':
			i++
			switch {
			case i < len(s) && s[i] == '"':
				end, err := quotedEnd(s, i)
				if err != nil {
					return nil, err
				}
				k, err := strconv.Unquote(s[i : end+1])
				if err != nil {
					return nil, fmt.Errorf("bad quoted key %s", s[i:end+1])
				}
				out = append(out, pathElem{selector: selector{key: k}})
				i = end + 1
			default:
				j := i
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				n, err := strconv.Atoi(s[i:j])
				if j == i || err != nil || n < 0 {
					return nil, fmt.Errorf("expected an index or a quoted key at offset %d", i)
				}
				out = append(out, pathElem{selector: selector{index: n, isIdx: true}})
				i = j
			}
			if i >= len(s) || s[i] != ']' {
				return nil, fmt.Errorf("expected ] at offset %d", i)
			}
			i++
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i], i)
		}
	}
	return out, nil
}

func isIdentByte(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
