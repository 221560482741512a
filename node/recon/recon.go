package recon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Options tunes one session. The zero value uses the defaults.
type Options struct {
	// MaxRounds caps the QUERY/REPLY exchanges of the session. Zero means
	// DefaultMaxRounds; negative values are invalid.
	MaxRounds int
}

func (o Options) maxRounds() (int, error) {
	switch {
	case o.MaxRounds < 0:
		return 0, fmt.Errorf("recon: Options.MaxRounds %d is negative", o.MaxRounds)
	case o.MaxRounds == 0:
		return DefaultMaxRounds, nil
	}
	return o.MaxRounds, nil
}

// Result is what a reconciliation found. Missing and Extra are sorted and
// owned by the caller.
type Result struct {
	// Missing are the keys the remote has and local lacks.
	Missing []Key
	// Extra are the keys local has and the remote lacks.
	Extra []Key
	// Rounds is the number of QUERY/REPLY round trips.
	Rounds int
	// BytesSent and BytesReceived count every byte of the session,
	// framing included.
	BytesSent, BytesReceived int64
}

// conn counts the bytes of a session and reuses one encode buffer.
type conn struct {
	rw       io.ReadWriter
	in, out  int64
	buf      []byte
	ctx      context.Context
	sentFail bool
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.rw.Read(p)
	c.in += int64(n)
	return n, err
}

func (c *conn) send(frame []byte) error {
	c.buf = frame[:0]
	n, err := c.rw.Write(frame)
	c.out += int64(n)
	return c.ioErr(err)
}

// ioErr turns an I/O error caused by cancellation into the context's error.
func (c *conn) ioErr(err error) error {
	if err == nil {
		return nil
	}
	if cerr := c.ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// fail reports a protocol error found on this side to the peer, best
// effort, and returns err.
func (c *conn) fail(err error) error {
	if e, ok := protoErr(err); ok && !c.sentFail && c.ctx.Err() == nil {
		c.sentFail = true
		_ = c.send(encodeError(c.buf, e.Code))
	}
	return err
}

// internal ends the session on a failure of this side's key store: it
// tells the peer (CodeInternal) and returns err.
func (c *conn) internal(err error) error {
	if !c.sentFail && c.ctx.Err() == nil {
		c.sentFail = true
		_ = c.send(encodeError(c.buf, CodeInternal))
	}
	return err
}

func (c *conn) read() (byte, []byte, error) {
	typ, payload, err := readFrame(c)
	if err != nil {
		if _, ok := protoErr(err); ok {
			return 0, nil, err
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, c.ioErr(err)
	}
	return typ, payload, nil
}

// watch makes cancellation of ctx interrupt blocked I/O when rw has a
// SetDeadline method (net.Conn, libp2p streams). Otherwise ctx is checked
// between messages only.
func watch(ctx context.Context, rw io.ReadWriter) (stop func() bool) {
	d, ok := rw.(interface{ SetDeadline(time.Time) error })
	if !ok {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, func() { _ = d.SetDeadline(time.Unix(1, 0)) })
}

func sortKeys(ks []Key) {
	slices.SortFunc(ks, func(a, b Key) int { return a.Compare(b) })
}

// Reconcile runs the client side of a session over rw against a peer
// running Serve, and returns the difference between local and the peer's
// set. It sends DONE at the end but does not close rw, which the caller
// owns. When it stops at the round cap it returns the partial Result with
// an error matching ErrTooManyRounds.
//
// local may change while the session runs: each range is compared with
// the state of both sets at the moment it is resolved, so a key added or
// removed during the session may be reported or not, but a key present on
// one side only for the whole session is always reported.
func Reconcile(ctx context.Context, rw io.ReadWriter, local *Set, opts Options) (res Result, err error) {
	maxRounds, err := opts.maxRounds()
	if err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	defer watch(ctx, rw)()
	c := &conn{rw: rw, ctx: ctx}
	defer func() {
		res.BytesSent, res.BytesReceived = c.out, c.in
		sortKeys(res.Missing)
		sortKeys(res.Extra)
	}()

	pending := []pendingRange{{cost: LeafMax}}
	for len(pending) > 0 {
		if res.Rounds >= maxRounds {
			_ = c.send(encodeDone(c.buf))
			return res, errorf(CodeTooManyRounds, "%d ranges unresolved after %d rounds", len(pending), res.Rounds)
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := batchSize(pending)
		q := make([]entry, n)
		local.mu.Lock()
		for i, pr := range pending[:n] {
			cnt, fp := local.summary(pr.p)
			q[i] = entry{p: pr.p, count: uint32(cnt), fp: fp}
		}
		serr := local.err
		local.mu.Unlock()
		if serr != nil {
			return res, c.internal(serr)
		}
		slices.SortFunc(q, func(a, b entry) int { return a.p.key.Compare(b.p.key) })
		pending = slices.Clone(pending[n:])

		frame, err := encodeQuery(c.buf, q)
		if err != nil {
			return res, err
		}
		if err := c.send(frame); err != nil {
			return res, err
		}
		typ, payload, err := c.read()
		if err != nil {
			return res, c.fail(err)
		}
		res.Rounds++
		var as []answer
		switch typ {
		case msgReply:
			as, err = decodeReply(payload, q)
		case msgError:
			err = decodeError(payload)
		default:
			err = unexpected(typ, "REPLY")
		}
		if err != nil {
			return res, c.fail(err)
		}
		if pending, err = resolve(local, q, as, &res, pending); err != nil {
			return res, c.internal(err)
		}
	}
	return res, c.send(encodeDone(c.buf))
}

// pendingRange is a range still to compare, with the number of keys the
// server is expected to list for it (spec §5.1).
type pendingRange struct {
	p    prefix
	cost int
}

// batchSize returns how many pending ranges go into the next QUERY: at most
// MaxEntries, and no more than MaxItems expected keys, so that the server
// can list in full every range the client lacks entirely. The first range
// always goes.
func batchSize(pending []pendingRange) int {
	n, items := 0, 0
	for n < len(pending) && n < MaxEntries {
		c := min(pending[n].cost, MaxItems)
		if n > 0 && items+c > MaxItems {
			break
		}
		items += c
		n++
	}
	return n
}

// resolve applies the answers to the query q, adding to res the keys found
// and to pending the ranges that still differ.
func resolve(local *Set, q []entry, as []answer, res *Result, pending []pendingRange) ([]pendingRange, error) {
	local.mu.Lock()
	defer local.mu.Unlock()
	for i, a := range as {
		p := q[i].p
		switch a.kind {
		case ansItems:
			mine := local.keysUnder(p)
			res.Missing, res.Extra = diff(a.keys, mine, res.Missing, res.Extra)
		case ansChildren:
			for c, theirs := range a.children {
				cp := p.child(c)
				cnt, fp := local.summary(cp)
				switch {
				case theirs.count == 0:
					res.Extra = append(res.Extra, local.keysUnder(cp)...)
				case uint32(cnt) == theirs.count && fp == theirs.fp:
				case cnt == 0:
					// The server will list the whole range if it fits.
					pending = append(pending, pendingRange{p: cp, cost: max(int(theirs.count), LeafMax)})
				default:
					pending = append(pending, pendingRange{p: cp, cost: LeafMax})
				}
			}
		}
	}
	return pending, local.err
}

// diff merges two sorted key lists: keys only in theirs go to missing,
// keys only in mine to extra.
func diff(theirs, mine, missing, extra []Key) ([]Key, []Key) {
	i, j := 0, 0
	for i < len(theirs) && j < len(mine) {
		switch theirs[i].Compare(mine[j]) {
		case -1:
			missing = append(missing, theirs[i])
			i++
		case 1:
			extra = append(extra, mine[j])
			j++
		default:
			i++
			j++
		}
	}
	missing = append(missing, theirs[i:]...)
	extra = append(extra, mine[j:]...)
	return missing, extra
}

// Serve runs the server side of one session over rw: it answers QUERY
// messages from local until the client sends DONE, and returns nil then.
// It does not learn the difference (a node that wants it runs Reconcile
// itself) and does not close rw, which the caller owns. A client that
// breaks the protocol or a cap gets an ERROR message and Serve returns an
// *Error.
func Serve(ctx context.Context, rw io.ReadWriter, local *Set, opts Options) error {
	maxRounds, err := opts.maxRounds()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	defer watch(ctx, rw)()
	c := &conn{rw: rw, ctx: ctx}
	for rounds := 0; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		typ, payload, err := c.read()
		if err != nil {
			return c.fail(err)
		}
		switch typ {
		case msgDone:
			return c.fail(decodeDone(payload))
		case msgError:
			return c.fail(decodeError(payload))
		case msgQuery:
		default:
			return c.fail(unexpected(typ, "QUERY or DONE"))
		}
		rounds++
		if rounds > maxRounds {
			return c.fail(errorf(CodeTooManyRounds, "more than %d rounds", maxRounds))
		}
		q, err := decodeQuery(payload)
		if err != nil {
			return c.fail(err)
		}
		as, err := answerQuery(local, q)
		if err != nil {
			return c.internal(err)
		}
		frame, err := encodeReply(c.buf, as)
		if err != nil {
			return c.fail(err)
		}
		if err := c.send(frame); err != nil {
			return err
		}
	}
}

// answerQuery computes the REPLY to q from local (spec §5.2).
func answerQuery(local *Set, q []entry) ([]answer, error) {
	local.mu.Lock()
	defer local.mu.Unlock()
	as := make([]answer, len(q))
	used := 0 // keys listed so far
	for i, e := range q {
		rest := len(q) - i - 1
		cnt, fp := local.summary(e.p)
		switch {
		case uint32(cnt) == e.count && fp == e.fp:
			as[i].kind = ansMatch
		case cnt <= LeafMax,
			e.count == 0 && used+cnt+LeafMax*rest <= MaxItems:
			as[i] = answer{kind: ansItems, keys: local.keysUnder(e.p)}
			used += cnt
		default:
			ch := new([16]summary)
			for c := range ch {
				n, fp := local.summary(e.p.child(c))
				ch[c] = summary{count: uint32(n), fp: fp}
			}
			as[i] = answer{kind: ansChildren, children: ch}
		}
	}
	return as, local.err
}
