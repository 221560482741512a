package wire

// The header and schema steps of §7 (steps 3 and 4). They run on bytes the
// scan accepted, so every item is well-formed, canonical and within the
// caps, and reading cannot fail.

// kind is the CBOR shape a field must have.
type kind int

const (
	kUint       kind = iota
	kText            // text string
	kBytes           // byte string
	kLink            // tag 42 (its content is a byte string, by the scan)
	kSubject         // map: subjectSchema
	kAudience        // map: audienceSchema
	kBytesArray      // array of byte strings
)

var kindName = map[kind]string{
	kUint: "an unsigned integer", kText: "a text string", kBytes: "a byte string", kLink: "a link (tag 42)",
	kSubject: "a map", kAudience: "a map", kBytesArray: "an array of byte strings",
}

type fieldSpec struct {
	kind     kind
	required bool
}

type schema map[string]fieldSpec

var (
	common = schema{"type": {kText, true}, "v": {kUint, true}, "sig": {kBytes, true}}

	subjectSchema  = schema{"key": {kBytes, false}, "acct": {kText, false}}
	audienceSchema = schema{"scope": {kText, true}, "peers": {kBytesArray, false}}

	schemas = map[Type]schema{
		TypeAttestation: withCommon(schema{
			"issuer": {kBytes, true}, "subject": {kSubject, true}, "kind": {kText, true},
			"context": {kText, true}, "strength": {kUint, true}, "reason": {kText, false},
			"evidence": {kText, false}, "created": {kUint, true}, "expires": {kUint, false},
			"audience": {kAudience, true}, "nonce": {kBytes, true},
		}),
		TypeRetraction: withCommon(schema{
			"issuer": {kBytes, true}, "target": {kLink, true}, "created": {kUint, true}, "reason": {kText, false},
		}),
		TypeConsent: withCommon(schema{
			"subject": {kBytes, true}, "target": {kLink, true}, "created": {kUint, true}, "expires": {kUint, false},
		}),
		TypeConsentWithdrawal: withCommon(schema{
			"subject": {kBytes, true}, "target": {kLink, true}, "created": {kUint, true},
		}),
		TypeIdentityLink: withCommon(schema{
			"key": {kBytes, true}, "acct": {kText, true}, "created": {kUint, true}, "expires": {kUint, false},
		}),
		TypeBundle: withCommon(schema{
			"issuer": {kBytes, true}, "created": {kUint, true}, "objects": {kBytesArray, true},
		}),
	}
)

func withCommon(s schema) schema {
	for k, v := range common {
		s[k] = v
	}
	return s
}

// reader reads items of scanned bytes.
type reader struct {
	b   []byte
	pos int
}

// head reads an item's head: major type, argument, and for strings the
// content.
func (r *reader) head() (major byte, arg uint64, body []byte) {
	ib := r.b[r.pos]
	major, ai := ib>>5, ib&0x1f
	r.pos++
	switch {
	case ai < 24:
		arg = uint64(ai)
	default:
		size := 1 << (ai - 24)
		for _, c := range r.b[r.pos : r.pos+size] {
			arg = arg<<8 | uint64(c)
		}
		r.pos += size
	}
	if major == 2 || major == 3 {
		body = r.b[r.pos : r.pos+int(arg)]
		r.pos += int(arg)
	}
	return major, arg, body
}

// skip passes over one item.
func (r *reader) skip() {
	major, arg, _ := r.head()
	switch major {
	case 4:
		for range arg {
			r.skip()
		}
	case 5:
		for range 2 * arg {
			r.skip()
		}
	case 6:
		r.skip()
	}
}

// value is a map entry as the schema step sees it.
type value struct {
	major byte
	arg   uint64 // uint value, or string/array/map length
	body  []byte // string content
	start int    // position of the item in the input
	// allBytes: for an array, every element is a byte string.
	allBytes bool
}

// entry is a map entry: its key's content and its value.
type entry struct {
	key []byte
	value
}

// entries reads the map at r's position (the caller checked it is one)
// into buf, reused.
func (r *reader) entries(buf []entry) []entry {
	_, n, _ := r.head()
	out := buf[:0]
	for range n {
		_, _, k := r.head()
		v := value{start: r.pos}
		v.major, v.arg, v.body = r.head()
		switch v.major {
		case 4:
			v.allBytes = true
			for range v.arg {
				if r.b[r.pos]>>5 != 2 {
					v.allBytes = false
				}
				r.skip()
			}
		case 5, 6:
			r.pos = v.start
			r.skip()
		}
		out = append(out, entry{k, v})
	}
	return out
}

// maxFields is more than any schema's number of fields: map entries read
// into an array of this size need no allocation.
const maxFields = 16

// header is step 3: the top-level item is a map whose "v" is 1 and whose
// "type" is a known type.
func header(op string, b []byte) (Type, error) {
	if b[0]>>5 != 5 {
		return "", errorf(op, "", ErrMalformed, "the object is not a map")
	}
	var buf [maxFields]entry
	es := (&reader{b: b}).entries(buf[:])
	find := func(name string) (value, bool) {
		for _, e := range es {
			if string(e.key) == name {
				return e.value, true
			}
		}
		return value{}, false
	}
	v, ok := find("v")
	switch {
	case !ok:
		return "", errorf(op, "v", ErrMissingField, "no version")
	case v.major != 0:
		return "", errorf(op, "v", ErrMalformed, "version is not an unsigned integer")
	case v.arg != Version:
		return "", errorf(op, "v", ErrUnsupportedVersion, "version %d, this implementation reads %d", v.arg, Version)
	}
	t, ok := find("type")
	switch {
	case !ok:
		return "", errorf(op, "type", ErrMissingField, "no type")
	case t.major != 3:
		return "", errorf(op, "type", ErrMalformed, "type is not a text string")
	}
	typ := Type(t.body)
	if _, known := schemas[typ]; !known {
		return "", errorf(op, "type", ErrWrongType, "unknown type %q", typ)
	}
	return typ, nil
}

// schemaFinding collects the first violation of each category of step 4.
type schemaFinding struct {
	unknown, malformed, missing, empty *Error
}

func (f *schemaFinding) note(slot **Error, op, field string, sentinel error, format string, args ...any) {
	if *slot == nil {
		*slot = errorf(op, field, sentinel, format, args...)
	}
}

// checkSchema is step 4 for an object of type t: unknown keys (in every
// map the schema defines), then values of the wrong CBOR type, then
// required keys that are absent, then optional keys present with an empty
// value (not canonical: they must be omitted). The first category with a
// violation decides the reason.
func checkSchema(op string, b []byte, t Type) error {
	var f schemaFinding
	f.walk(op, "", b, 0, schemas[t], typeRequired[t])
	for _, e := range []*Error{f.unknown, f.malformed, f.missing, f.empty} {
		if e != nil {
			return e
		}
	}
	return nil
}

// kindMajor is the CBOR major type of each kind.
var kindMajor = [...]byte{kUint: 0, kText: 3, kBytes: 2, kLink: 6, kSubject: 5, kAudience: 5, kBytesArray: 4}

func (f *schemaFinding) walk(op, prefix string, b []byte, at int, s schema, nRequired int) {
	var buf [maxFields]entry
	es := (&reader{b: b, pos: at}).entries(buf[:])
	required := 0 // required keys present (the scan let no key repeat)
	for _, e := range es {
		spec, ok := s[string(e.key)]
		if !ok {
			name := prefix + string(e.key)
			f.note(&f.unknown, op, name, ErrUnknownField, "key %q is not defined", name)
			continue
		}
		v := e.value
		if v.major != kindMajor[spec.kind] || (spec.kind == kBytesArray && !v.allBytes) {
			name := prefix + string(e.key)
			f.note(&f.malformed, op, name, ErrMalformed, "%s is not %s", name, kindName[spec.kind])
			continue
		}
		if spec.required {
			required++
		}
		switch spec.kind {
		case kSubject:
			f.walk(op, prefix+string(e.key)+".", b, v.start, subjectSchema, subjectRequired)
		case kAudience:
			f.walk(op, prefix+string(e.key)+".", b, v.start, audienceSchema, audienceRequired)
		}
		if !spec.required && v.major != 6 && v.arg == 0 {
			name := prefix + string(e.key)
			f.note(&f.empty, op, name, ErrNotCanonical, "optional %s is present but empty: omit it", name)
		}
	}
	if required == nRequired {
		return
	}
	present := map[string]bool{}
	for _, e := range es {
		present[string(e.key)] = true
	}
	for _, k := range sortedKeys(s) {
		if s[k].required && !present[k] {
			f.note(&f.missing, op, prefix+k, ErrMissingField, "required %s is absent", prefix+k)
		}
	}
}

// The number of required keys of each schema.
var (
	subjectRequired  = requiredCount(subjectSchema)
	audienceRequired = requiredCount(audienceSchema)
	typeRequired     = func() map[Type]int {
		m := map[Type]int{}
		for t, s := range schemas {
			m[t] = requiredCount(s)
		}
		return m
	}()
)

// requiredCount is the number of required keys of s.
func requiredCount(s schema) int {
	n := 0
	for _, spec := range s {
		if spec.required {
			n++
		}
	}
	return n
}

// sortedKeys returns a schema's keys in canonical order, so that the
// field a finding names does not depend on map iteration.
func sortedKeys(s schema) []string {
	ks := make([]string, 0, len(s))
	for k := range s {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && keyLessText(ks[j], ks[j-1]); j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

func keyLessText(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
