package badger

import (
	"encoding/binary"

	"github.com/ipfs/go-cid"

	"github.com/kith-net/kith/wire"
)

// schemaVersion is the on-disk layout this build reads and writes; see the
// key layout in the package documentation.
const schemaVersion = 1

// Key prefixes. No prefix is a prefix of another.
var (
	pObject       = []byte("o/")
	pByIssuer     = []byte("ai/")
	pBySubject    = []byte("ak/")
	pByAcct       = []byte("aa/")
	pByContext    = []byte("ac/")
	pByTime       = []byte("at/")
	pRetraction   = []byte("rt/")
	pConsent      = []byte("ct/")
	pWithdrawal   = []byte("wt/")
	pLinkByAcct   = []byte("la/")
	pLinkByKey    = []byte("lk/")
	keySchema     = []byte("meta/schema")
	keyID         = []byte("meta/id")
	indexPrefixes = [][]byte{pByIssuer, pBySubject, pByAcct, pByContext, pByTime, pRetraction, pConsent, pWithdrawal, pLinkByAcct, pLinkByKey}
)

// key concatenates parts into a new slice.
func key(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// term terminates a text component (account or context) with 0x00.
func term(s string) []byte { return append([]byte(s), 0) }

func be64(u uint64) []byte { return binary.BigEndian.AppendUint64(nil, u) }

func objectKey(id cid.Cid) []byte { return key(pObject, id.Bytes()) }

// Prefixes of the attestation index ranges. Every key in such a range is
// the prefix followed by <created> <cid>.
func issuerPrefix(k wire.PublicKey) []byte  { return key(pByIssuer, k[:]) }
func subjectPrefix(k wire.PublicKey) []byte { return key(pBySubject, k[:]) }
func acctPrefix(acct string) []byte         { return key(pByAcct, term(acct)) }
func contextPrefix(c string, k wire.Kind) []byte {
	return key(pByContext, term(c), term(string(k)))
}

// Prefixes of the ranges keyed by target or owner. Every key in such a range
// is the prefix followed by <cid> (for retractions: <issuer> <cid>).
func retractionPrefix(target cid.Cid) []byte { return key(pRetraction, target.Bytes()) }
func consentPrefix(target cid.Cid) []byte    { return key(pConsent, target.Bytes()) }
func withdrawalPrefix(target cid.Cid) []byte { return key(pWithdrawal, target.Bytes()) }
func linkAcctPrefix(acct string) []byte      { return key(pLinkByAcct, term(acct)) }
func linkKeyPrefix(k wire.PublicKey) []byte  { return key(pLinkByKey, k[:]) }

// indexKeys returns the index entries of o (without its object entry).
func indexKeys(o wire.Object) [][]byte {
	id := o.CID().Bytes()
	switch v := o.(type) {
	case *wire.Attestation:
		tail := key(be64(v.Created), id)
		ks := [][]byte{
			key(issuerPrefix(v.Issuer), tail),
			key(contextPrefix(v.Context, v.Kind), tail),
			key(pByTime, tail),
		}
		if v.Subject.Key != nil {
			ks = append(ks, key(subjectPrefix(*v.Subject.Key), tail))
		}
		if v.Subject.Acct != "" {
			ks = append(ks, key(acctPrefix(v.Subject.Acct), tail))
		}
		return ks
	case *wire.Retraction:
		return [][]byte{key(retractionPrefix(v.Target.CID()), v.Issuer[:], id)}
	case *wire.Consent:
		return [][]byte{key(consentPrefix(v.Target.CID()), id)}
	case *wire.ConsentWithdrawal:
		return [][]byte{key(withdrawalPrefix(v.Target.CID()), id)}
	case *wire.IdentityLink:
		return [][]byte{key(linkAcctPrefix(v.Acct), id), key(linkKeyPrefix(v.Key), id)}
	}
	return nil
}
