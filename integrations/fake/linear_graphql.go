package fake

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// This file is the stand-in's small GraphQL reader: one query operation
// (named or not, with variable definitions and defaults), fields with
// aliases, arguments whose values may be literals, lists, objects or
// variables, and nested selection sets. Fragments, directives, block
// strings, mutations and several operations per document are refused as
// unsupported. Answers are shaped by project, so that a client gets
// exactly the fields it asked for and a field Linear does not have is
// GraphQL's validation error — a client that forgets a field in its query
// fails here as it would against Linear.

// gqlField is a field of a selection set, its arguments resolved against
// the request's variables (JSON-like values: map[string]any, []any,
// string, float64, bool, nil; enum values as strings).
type gqlField struct {
	Alias string // the key in the answer
	Name  string
	Args  map[string]any
	Sel   []*gqlField
}

// gqlSyntaxError is a query the reader cannot parse.
type gqlSyntaxError struct{ msg string }

func (e *gqlSyntaxError) Error() string { return e.msg }

type gqlParser struct {
	src      string
	pos      int
	vars     map[string]any
	declared map[string]bool
}

// parseGraphQL parses a query document and returns its root selection set.
func parseGraphQL(src string, vars map[string]any) ([]*gqlField, error) {
	p := &gqlParser{src: src, vars: maps.Clone(vars), declared: map[string]bool{}}
	if p.vars == nil {
		p.vars = map[string]any{}
	}
	if p.peek() != '{' {
		op, err := p.name()
		if err != nil {
			return nil, err
		}
		if op != "query" {
			return nil, p.errorf("only query operations are supported by the stand-in, not %q", op)
		}
		if isNameStart(p.peek()) {
			if _, err := p.name(); err != nil {
				return nil, err
			}
		}
		if p.peek() == '(' {
			if err := p.variableDefinitions(); err != nil {
				return nil, err
			}
		}
	}
	sel, err := p.selectionSet()
	if err != nil {
		return nil, err
	}
	if p.peek() != 0 {
		return nil, p.errorf("one operation per document is supported by the stand-in")
	}
	return sel, nil
}

func (p *gqlParser) errorf(format string, args ...any) error {
	return &gqlSyntaxError{msg: fmt.Sprintf("Syntax Error: "+format+" (at offset %d).", append(args, p.pos)...)}
}

// peek skips ignored tokens (white space, commas, comments) and returns the
// next byte, 0 at the end.
func (p *gqlParser) peek() byte {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; c {
		case ' ', '\t', '\n', '\r', ',':
			p.pos++
		case '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return c
		}
	}
	return 0
}

func (p *gqlParser) expect(c byte) error {
	if got := p.peek(); got != c {
		return p.errorf("expected %q, found %s", c, p.describe())
	}
	p.pos++
	return nil
}

func (p *gqlParser) describe() string {
	if p.pos >= len(p.src) {
		return "<EOF>"
	}
	return strconv.Quote(p.src[p.pos : p.pos+1])
}

func isNameStart(c byte) bool { return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func (p *gqlParser) name() (string, error) {
	if !isNameStart(p.peek()) {
		return "", p.errorf("expected Name, found %s", p.describe())
	}
	start := p.pos
	for p.pos < len(p.src) && (isNameStart(p.src[p.pos]) || p.src[p.pos] >= '0' && p.src[p.pos] <= '9') {
		p.pos++
	}
	return p.src[start:p.pos], nil
}

// variableDefinitions reads ($a: Type = default, …), recording the
// declared names and filling in defaults of variables not given.
func (p *gqlParser) variableDefinitions() error {
	p.pos++ // (
	for p.peek() != ')' {
		if err := p.expect('$'); err != nil {
			return err
		}
		name, err := p.name()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := p.typeRef(); err != nil {
			return err
		}
		if p.peek() == '=' {
			p.pos++
			def, err := p.value()
			if err != nil {
				return err
			}
			if _, given := p.vars[name]; !given {
				p.vars[name] = def
			}
		}
		p.declared[name] = true
	}
	p.pos++ // )
	return nil
}

func (p *gqlParser) typeRef() error {
	if p.peek() == '[' {
		p.pos++
		if err := p.typeRef(); err != nil {
			return err
		}
		if err := p.expect(']'); err != nil {
			return err
		}
	} else if _, err := p.name(); err != nil {
		return err
	}
	if p.peek() == '!' {
		p.pos++
	}
	return nil
}

func (p *gqlParser) selectionSet() ([]*gqlField, error) {
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	var sel []*gqlField
	for p.peek() != '}' {
		if p.peek() == 0 {
			return nil, p.errorf("expected Name, found <EOF>")
		}
		if strings.HasPrefix(p.src[p.pos:], "...") {
			return nil, p.errorf("fragments are not supported by the stand-in")
		}
		f, err := p.field()
		if err != nil {
			return nil, err
		}
		sel = append(sel, f)
	}
	p.pos++ // }
	if len(sel) == 0 {
		return nil, p.errorf("expected Name, found \"}\"")
	}
	return sel, nil
}

func (p *gqlParser) field() (*gqlField, error) {
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	f := &gqlField{Alias: name, Name: name}
	if p.peek() == ':' {
		p.pos++
		if f.Name, err = p.name(); err != nil {
			return nil, err
		}
	}
	if p.peek() == '(' {
		p.pos++
		f.Args = map[string]any{}
		for p.peek() != ')' {
			arg, err := p.name()
			if err != nil {
				return nil, err
			}
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			if f.Args[arg], err = p.value(); err != nil {
				return nil, err
			}
		}
		p.pos++ // )
	}
	if p.peek() == '@' {
		return nil, p.errorf("directives are not supported by the stand-in")
	}
	if p.peek() == '{' {
		if f.Sel, err = p.selectionSet(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (p *gqlParser) value() (any, error) {
	switch c := p.peek(); {
	case c == '$':
		p.pos++
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		if !p.declared[name] {
			return nil, p.errorf("variable \"$%s\" is not defined", name)
		}
		return p.vars[name], nil
	case c == '"':
		return p.stringValue()
	case c == '[':
		p.pos++
		list := []any{}
		for p.peek() != ']' {
			if p.peek() == 0 {
				return nil, p.errorf("unterminated list")
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		p.pos++
		return list, nil
	case c == '{':
		p.pos++
		obj := map[string]any{}
		for p.peek() != '}' {
			k, err := p.name()
			if err != nil {
				return nil, err
			}
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			if obj[k], err = p.value(); err != nil {
				return nil, err
			}
		}
		p.pos++
		return obj, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		for p.pos < len(p.src) && strings.IndexByte("+-.0123456789eE", p.src[p.pos]) >= 0 {
			p.pos++
		}
		n, err := strconv.ParseFloat(p.src[start:p.pos], 64)
		if err != nil {
			return nil, p.errorf("invalid number %q", p.src[start:p.pos])
		}
		return n, nil
	case isNameStart(c):
		name, _ := p.name()
		switch name {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return name, nil // an enum value
	}
	return nil, p.errorf("unexpected %s", p.describe())
}

func (p *gqlParser) stringValue() (any, error) {
	if strings.HasPrefix(p.src[p.pos:], `"""`) {
		return nil, p.errorf("block strings are not supported by the stand-in")
	}
	start := p.pos
	for p.pos++; p.pos < len(p.src); p.pos++ {
		switch p.src[p.pos] {
		case '\\':
			p.pos++
		case '"':
			p.pos++
			var s string
			// GraphQL's string escapes are JSON's.
			if err := json.Unmarshal([]byte(p.src[start:p.pos]), &s); err != nil {
				return nil, p.errorf("invalid string")
			}
			return s, nil
		case '\n':
			return nil, p.errorf("unterminated string")
		}
	}
	return nil, p.errorf("unterminated string")
}

// gqlValidationError is a query asking for something the schema lacks.
type gqlValidationError struct{ msg string }

func (e *gqlValidationError) Error() string { return e.msg }

// project shapes v by the selection: an object (a map with "__typename")
// keeps exactly the selected fields under their aliases, a list is
// projected element by element, a scalar passes. A connection field given
// `first` keeps that many nodes (nested connections do not paginate).
func project(v any, sel []*gqlField) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		typ, _ := x["__typename"].(string)
		if len(sel) == 0 {
			return nil, &gqlValidationError{fmt.Sprintf("Field of type %q must have a selection of subfields.", typ)}
		}
		out := make(map[string]any, len(sel))
		for _, f := range sel {
			val, ok := x[f.Name]
			if !ok {
				return nil, &gqlValidationError{fmt.Sprintf("Cannot query field %q on type %q.", f.Name, typ)}
			}
			if n, ok := f.Args["first"].(float64); ok {
				val = firstNodes(val, int(n))
			}
			pv, err := project(val, f.Sel)
			if err != nil {
				return nil, err
			}
			out[f.Alias] = pv
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			pv, err := project(e, sel)
			if err != nil {
				return nil, err
			}
			out[i] = pv
		}
		return out, nil
	}
	if len(sel) > 0 && v != nil {
		return nil, &gqlValidationError{fmt.Sprintf("Field %q must not have a selection since its type has no subfields.", sel[0].Name)}
	}
	return v, nil
}

// firstNodes cuts a connection to its first n nodes.
func firstNodes(v any, n int) any {
	conn, ok := v.(map[string]any)
	nodes, isConn := conn["nodes"].([]any)
	if !ok || !isConn || n < 0 || len(nodes) <= n {
		return v
	}
	conn = maps.Clone(conn)
	conn["nodes"] = nodes[:n]
	conn["pageInfo"] = pageInfo(true, nodes[:n])
	return conn
}

// connection is a Linear connection of nodes that are all there.
func connection(typename string, nodes []any) map[string]any {
	return map[string]any{"__typename": typename, "nodes": nodes, "pageInfo": pageInfo(false, nodes)}
}

// pageInfo's cursors of nested connections are the node ids.
func pageInfo(hasNext bool, nodes []any) map[string]any {
	var start, end any
	if len(nodes) > 0 {
		start = nodes[0].(map[string]any)["id"]
		end = nodes[len(nodes)-1].(map[string]any)["id"]
	}
	return map[string]any{
		"__typename":      "PageInfo",
		"hasNextPage":     hasNext,
		"hasPreviousPage": false,
		"startCursor":     start,
		"endCursor":       end,
	}
}
