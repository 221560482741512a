package wire

import (
	"time"
)

// Attestation is a signed statement by Issuer about Subject: a vouch or a
// warning, in a context, with a strength, for an audience.
//
// Encoding (DAG-CBOR map, keys in canonical order): type, v, issuer,
// subject, kind, context, strength, reason?, evidence?, created, expires?,
// audience, nonce, sig. See spec/wire-v1.md.
type Attestation struct {
	sealed
	Issuer   PublicKey `cbor:"issuer"`
	Subject  Subject   `cbor:"subject"`
	Kind     Kind      `cbor:"kind"`
	Context  string    `cbor:"context"`
	Strength uint64    `cbor:"strength"` // MinStrength..MaxStrength
	Reason   string    `cbor:"reason,omitempty"`
	Evidence string    `cbor:"evidence,omitempty"` // http(s) URL or CID
	Created  uint64    `cbor:"created"`            // Unix seconds
	Expires  uint64    `cbor:"expires,omitempty"`  // Unix seconds; 0 = never
	Audience Audience  `cbor:"audience"`
	Nonce    []byte    `cbor:"nonce"` // NonceSize random bytes
	Sig      []byte    `cbor:"sig,omitempty"`
}

type attestationEnv struct {
	Type Type   `cbor:"type"`
	V    uint64 `cbor:"v"`
	Attestation
}

// Type implements Object.
func (*Attestation) Type() Type { return TypeAttestation }

// Signer implements Object.
func (a *Attestation) Signer() PublicKey { return a.Issuer }

// Verify implements Object.
func (a *Attestation) Verify(now time.Time) error { return verify(a, now) }

// Sign sets the issuer to k's public key, validates, and signs.
func (a *Attestation) Sign(k *PrivateKey) error {
	if k != nil {
		a.Issuer = k.Public()
	}
	return sign(a, k)
}

// ExpiresAt returns the expiry, or the zero time if there is none.
func (a *Attestation) ExpiresAt() time.Time { return unixOrZero(a.Expires) }

// CreatedAt returns the creation time.
func (a *Attestation) CreatedAt() time.Time { return unixOrZero(a.Created) }

func (a *Attestation) signable() signable { return a }
func (a *Attestation) seal() *sealed      { return &a.sealed }
func (a *Attestation) sig() *[]byte       { return &a.Sig }
func (a *Attestation) times() (uint64, uint64) {
	return a.Created, a.Expires
}
func (a *Attestation) env(withSig bool) any {
	e := &attestationEnv{Type: TypeAttestation, V: Version, Attestation: *a}
	e.sealed = sealed{}
	if !withSig {
		e.Sig = nil
	}
	return e
}

func (a *Attestation) validate() error {
	if err := checkKey("issuer", a.Issuer); err != nil {
		return err
	}
	if err := a.Subject.validate(); err != nil {
		return err
	}
	if a.Subject.Key != nil && *a.Subject.Key == a.Issuer {
		return errorf("", "subject", ErrInvalidField, "an attestation cannot be about its own issuer")
	}
	if a.Kind != Vouch && a.Kind != Warn {
		return errorf("", "kind", ErrInvalidField, "%q, want %q or %q", a.Kind, Vouch, Warn)
	}
	if err := ValidateContext(a.Context); err != nil {
		return err
	}
	if a.Strength < MinStrength || a.Strength > MaxStrength {
		return errorf("", "strength", ErrInvalidField, "%d, want %d..%d", a.Strength, MinStrength, MaxStrength)
	}
	if err := validateText("reason", a.Reason, MaxReasonLen); err != nil {
		return err
	}
	if err := validateEvidence(a.Evidence); err != nil {
		return err
	}
	if err := checkTimes(a.Created, a.Expires); err != nil {
		return err
	}
	if err := a.Audience.validate(); err != nil {
		return err
	}
	if len(a.Nonce) != NonceSize {
		return errorf("", "nonce", ErrInvalidField, "%d bytes, want %d", len(a.Nonce), NonceSize)
	}
	return nil
}

// DecodeAttestation decodes an attestation strictly (no signature check).
func DecodeAttestation(b []byte) (*Attestation, error) {
	o, err := decodeAs(TypeAttestation, b, decMode, func(e *attestationEnv) signable { return &e.Attestation })
	if err != nil {
		return nil, err
	}
	return o.(*Attestation), nil
}

// Retraction withdraws an attestation. It is valid only when signed by the
// attestation's issuer; that check needs the attestation (see Retracts).
type Retraction struct {
	sealed
	Issuer  PublicKey `cbor:"issuer"`
	Target  Link      `cbor:"target"` // CID of the attestation
	Created uint64    `cbor:"created"`
	Reason  string    `cbor:"reason,omitempty"`
	Sig     []byte    `cbor:"sig,omitempty"`
}

type retractionEnv struct {
	Type Type   `cbor:"type"`
	V    uint64 `cbor:"v"`
	Retraction
}

// Type implements Object.
func (*Retraction) Type() Type { return TypeRetraction }

// Signer implements Object.
func (r *Retraction) Signer() PublicKey { return r.Issuer }

// Verify implements Object.
func (r *Retraction) Verify(now time.Time) error { return verify(r, now) }

// Sign sets the issuer to k's public key, validates, and signs.
func (r *Retraction) Sign(k *PrivateKey) error {
	if k != nil {
		r.Issuer = k.Public()
	}
	return sign(r, k)
}

// Retracts reports whether r validly retracts a: it targets a's CID and is
// signed by a's issuer. Signatures are not checked here.
func (r *Retraction) Retracts(a *Attestation) bool {
	return r.Target.CID().Equals(a.CID()) && r.Issuer == a.Issuer
}

func (r *Retraction) signable() signable      { return r }
func (r *Retraction) seal() *sealed           { return &r.sealed }
func (r *Retraction) sig() *[]byte            { return &r.Sig }
func (r *Retraction) times() (uint64, uint64) { return r.Created, 0 }
func (r *Retraction) env(withSig bool) any {
	e := &retractionEnv{Type: TypeRetraction, V: Version, Retraction: *r}
	e.sealed = sealed{}
	if !withSig {
		e.Sig = nil
	}
	return e
}

func (r *Retraction) validate() error {
	if err := checkKey("issuer", r.Issuer); err != nil {
		return err
	}
	if err := r.Target.validate(); err != nil {
		return err
	}
	if err := checkTimes(r.Created, 0); err != nil {
		return err
	}
	return validateText("reason", r.Reason, MaxReasonLen)
}

// DecodeRetraction decodes a retraction strictly (no signature check).
func DecodeRetraction(b []byte) (*Retraction, error) {
	o, err := decodeAs(TypeRetraction, b, decMode, func(e *retractionEnv) signable { return &e.Retraction })
	if err != nil {
		return nil, err
	}
	return o.(*Retraction), nil
}

// Consent is a subject's co-signature on an attestation about them: it
// allows the attestation to be made public (gossiped). Subject is the key of
// the attestation's subject.
type Consent struct {
	sealed
	Subject PublicKey `cbor:"subject"`
	Target  Link      `cbor:"target"` // CID of the attestation
	Created uint64    `cbor:"created"`
	Expires uint64    `cbor:"expires,omitempty"`
	Sig     []byte    `cbor:"sig,omitempty"`
}

type consentEnv struct {
	Type Type   `cbor:"type"`
	V    uint64 `cbor:"v"`
	Consent
}

// Type implements Object.
func (*Consent) Type() Type { return TypeConsent }

// Signer implements Object.
func (c *Consent) Signer() PublicKey { return c.Subject }

// Verify implements Object.
func (c *Consent) Verify(now time.Time) error { return verify(c, now) }

// Sign sets the subject to k's public key, validates, and signs.
func (c *Consent) Sign(k *PrivateKey) error {
	if k != nil {
		c.Subject = k.Public()
	}
	return sign(c, k)
}

// Covers reports whether c is a consent for a: it targets a's CID and is
// signed by a's subject key, or by a key that linked says is the subject's
// Fediverse account (linked may be nil). Signatures are not checked here.
func (c *Consent) Covers(a *Attestation, linked func(acct string, key PublicKey) bool) bool {
	if !c.Target.CID().Equals(a.CID()) {
		return false
	}
	if a.Subject.Key != nil {
		return *a.Subject.Key == c.Subject
	}
	return linked != nil && a.Subject.Acct != "" && linked(a.Subject.Acct, c.Subject)
}

func (c *Consent) signable() signable      { return c }
func (c *Consent) seal() *sealed           { return &c.sealed }
func (c *Consent) sig() *[]byte            { return &c.Sig }
func (c *Consent) times() (uint64, uint64) { return c.Created, c.Expires }
func (c *Consent) env(withSig bool) any {
	e := &consentEnv{Type: TypeConsent, V: Version, Consent: *c}
	e.sealed = sealed{}
	if !withSig {
		e.Sig = nil
	}
	return e
}

func (c *Consent) validate() error {
	if err := checkKey("subject", c.Subject); err != nil {
		return err
	}
	if err := c.Target.validate(); err != nil {
		return err
	}
	return checkTimes(c.Created, c.Expires)
}

// DecodeConsent decodes a consent strictly (no signature check).
func DecodeConsent(b []byte) (*Consent, error) {
	o, err := decodeAs(TypeConsent, b, decMode, func(e *consentEnv) signable { return &e.Consent })
	if err != nil {
		return nil, err
	}
	return o.(*Consent), nil
}

// ConsentWithdrawal takes back a subject's consent for an attestation: after
// it, nodes stop forwarding the attestation and mark it withdrawn.
type ConsentWithdrawal struct {
	sealed
	Subject PublicKey `cbor:"subject"`
	Target  Link      `cbor:"target"` // CID of the attestation
	Created uint64    `cbor:"created"`
	Sig     []byte    `cbor:"sig,omitempty"`
}

type consentWithdrawalEnv struct {
	Type Type   `cbor:"type"`
	V    uint64 `cbor:"v"`
	ConsentWithdrawal
}

// Type implements Object.
func (*ConsentWithdrawal) Type() Type { return TypeConsentWithdrawal }

// Signer implements Object.
func (w *ConsentWithdrawal) Signer() PublicKey { return w.Subject }

// Verify implements Object.
func (w *ConsentWithdrawal) Verify(now time.Time) error { return verify(w, now) }

// Sign sets the subject to k's public key, validates, and signs.
func (w *ConsentWithdrawal) Sign(k *PrivateKey) error {
	if k != nil {
		w.Subject = k.Public()
	}
	return sign(w, k)
}

// Withdraws reports whether w withdraws consent c: same target, same
// subject. Signatures are not checked here.
func (w *ConsentWithdrawal) Withdraws(c *Consent) bool {
	return w.Target.CID().Equals(c.Target.CID()) && w.Subject == c.Subject
}

func (w *ConsentWithdrawal) signable() signable      { return w }
func (w *ConsentWithdrawal) seal() *sealed           { return &w.sealed }
func (w *ConsentWithdrawal) sig() *[]byte            { return &w.Sig }
func (w *ConsentWithdrawal) times() (uint64, uint64) { return w.Created, 0 }
func (w *ConsentWithdrawal) env(withSig bool) any {
	e := &consentWithdrawalEnv{Type: TypeConsentWithdrawal, V: Version, ConsentWithdrawal: *w}
	e.sealed = sealed{}
	if !withSig {
		e.Sig = nil
	}
	return e
}

func (w *ConsentWithdrawal) validate() error {
	if err := checkKey("subject", w.Subject); err != nil {
		return err
	}
	if err := w.Target.validate(); err != nil {
		return err
	}
	return checkTimes(w.Created, 0)
}

// DecodeConsentWithdrawal decodes a consent withdrawal strictly (no
// signature check).
func DecodeConsentWithdrawal(b []byte) (*ConsentWithdrawal, error) {
	o, err := decodeAs(TypeConsentWithdrawal, b, decMode, func(e *consentWithdrawalEnv) signable { return &e.ConsentWithdrawal })
	if err != nil {
		return nil, err
	}
	return o.(*ConsentWithdrawal), nil
}

// IdentityLink binds a node key and a Fediverse account in one statement
// signed by the key. The other direction is the account's profile field
// holding Key.DIDKey(); a link is verified only when both agree.
type IdentityLink struct {
	sealed
	Key     PublicKey `cbor:"key"`
	Acct    string    `cbor:"acct"` // normalised "acct:user@host"
	Created uint64    `cbor:"created"`
	Expires uint64    `cbor:"expires,omitempty"`
	Sig     []byte    `cbor:"sig,omitempty"`
}

type identityLinkEnv struct {
	Type Type   `cbor:"type"`
	V    uint64 `cbor:"v"`
	IdentityLink
}

// Type implements Object.
func (*IdentityLink) Type() Type { return TypeIdentityLink }

// Signer implements Object.
func (l *IdentityLink) Signer() PublicKey { return l.Key }

// Verify implements Object.
func (l *IdentityLink) Verify(now time.Time) error { return verify(l, now) }

// Sign sets the key to k's public key, validates, and signs.
func (l *IdentityLink) Sign(k *PrivateKey) error {
	if k != nil {
		l.Key = k.Public()
	}
	return sign(l, k)
}

func (l *IdentityLink) signable() signable      { return l }
func (l *IdentityLink) seal() *sealed           { return &l.sealed }
func (l *IdentityLink) sig() *[]byte            { return &l.Sig }
func (l *IdentityLink) times() (uint64, uint64) { return l.Created, l.Expires }
func (l *IdentityLink) env(withSig bool) any {
	e := &identityLinkEnv{Type: TypeIdentityLink, V: Version, IdentityLink: *l}
	e.sealed = sealed{}
	if !withSig {
		e.Sig = nil
	}
	return e
}

func (l *IdentityLink) validate() error {
	if err := checkKey("key", l.Key); err != nil {
		return err
	}
	if err := checkAcct("acct", l.Acct); err != nil {
		return err
	}
	return checkTimes(l.Created, l.Expires)
}

// DecodeIdentityLink decodes an identity link strictly (no signature check).
func DecodeIdentityLink(b []byte) (*IdentityLink, error) {
	o, err := decodeAs(TypeIdentityLink, b, decMode, func(e *identityLinkEnv) signable { return &e.IdentityLink })
	if err != nil {
		return nil, err
	}
	return o.(*IdentityLink), nil
}

func unixOrZero(s uint64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}
