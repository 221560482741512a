package node

import (
	"runtime"
	"time"

	"github.com/kith-net/kith/wire"
)

// maxBatch caps the signatures checked in one batch.
const maxBatch = 128

// verifier checks signatures for the gossip validator. Validators run
// concurrently (pubsub calls them in their own goroutines); under load
// their requests queue up, and each worker takes everything queued (up to
// maxBatch signatures) and checks it with one Ed25519 batch verification,
// which costs a fraction of single checks per signature. With nothing
// queued a request is checked at once, so light traffic waits for nothing.
type verifier struct {
	reqs chan verifyReq
	now  func() time.Time
}

type verifyReq struct {
	objs []wire.Object
	done chan []error
}

func newVerifier(now func() time.Time) *verifier {
	return &verifier{reqs: make(chan verifyReq, 1024), now: now}
}

// workers is how many goroutines verify: one per core.
func (v *verifier) workers() int { return runtime.GOMAXPROCS(0) }

// verify checks objs and returns one error (or nil) per object, as
// wire.VerifyBatch does. It returns false if the node is stopping.
func (v *verifier) verify(objs []wire.Object, stop <-chan struct{}) ([]error, bool) {
	r := verifyReq{objs: objs, done: make(chan []error, 1)}
	select {
	case v.reqs <- r:
	case <-stop:
		return nil, false
	}
	select {
	case errs := <-r.done:
		return errs, true
	case <-stop:
		return nil, false
	}
}

// run is one worker; it returns when stop closes.
func (v *verifier) run(stop <-chan struct{}) {
	var batch []verifyReq
	var objs []wire.Object
	for {
		batch, objs = batch[:0], objs[:0]
		select {
		case <-stop:
			return
		case r := <-v.reqs:
			batch = append(batch, r)
			objs = append(objs, r.objs...)
		}
	drain:
		for len(objs) < maxBatch {
			select {
			case r := <-v.reqs:
				batch = append(batch, r)
				objs = append(objs, r.objs...)
			default:
				break drain
			}
		}
		errs := wire.VerifyBatch(objs, v.now(), nil)
		for _, r := range batch {
			r.done <- errs[:len(r.objs):len(r.objs)]
			errs = errs[len(r.objs):]
		}
	}
}
