package workflow

// position is where a node starts in the YAML source (1-based).
type position struct{ line, col int }

// positions maps field paths to the YAML nodes they were read from.
type positions map[fieldPath]position

// location says where a field is, for errors: its file, position, path and
// step.
type location struct {
	file  string
	pos   position
	field fieldPath
	step  string
}

// err is an *Error at l.
func (l location) err(msg string) *Error {
	return &Error{File: l.file, Line: l.pos.line, Column: l.pos.col, Field: string(l.field), Step: l.step, Msg: msg}
}

// locate is the location of field in d, positioned at the first of field
// and fallbacks that the YAML had (a missing field is reported where its
// parent is).
func (d *Definition) locate(step string, field fieldPath, fallbacks ...fieldPath) location {
	l := location{file: d.file, field: field, step: step}
	for _, p := range append([]fieldPath{field}, fallbacks...) {
		if pos, ok := d.pos[p]; ok {
			l.pos = pos
			break
		}
	}
	return l
}
