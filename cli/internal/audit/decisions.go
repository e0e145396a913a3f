package audit

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/chaincode/sig"
	"github.com/quanchain/quanchain/cli/internal/cmdutil"
	"github.com/quanchain/quanchain/ledger"
)

// Finding codes of `qc audit decisions`.
const (
	DecisionPayloadInvalid  = "PAYLOAD_INVALID"
	DecisionPayloadMismatch = "PAYLOAD_MISMATCH"
	DecisionPayloadStale    = "PAYLOAD_NOT_FRESH"
	DecisionSignatureBad    = "SIGNATURE_INVALID"
	DecisionKeyUnknown      = "KEY_UNKNOWN"
	DecisionKeyNotActive    = "KEY_NOT_ACTIVE"
	DecisionKeyTooYoung     = "KEY_TOO_YOUNG"
	DecisionKeyNoProof      = "KEY_WITHOUT_PROOF"
	DecisionSubjectMismatch = "SUBJECT_MISMATCH"
	DecisionApproverUnknown = "APPROVER_UNKNOWN"
	DecisionNotUserVerified = "NOT_USER_VERIFIED"
	DecisionTxNotFound      = "TX_NOT_FOUND"
	DecisionTimeOutOfOrder  = "TIME_OUT_OF_ORDER"
	DecisionBeyondPurpose   = "BEYOND_PURPOSE"
)

// Defaults of `qc audit decisions`.
const (
	DefaultMinKeyAge = 10 * time.Minute
	// DefaultClockSkew is how far apart the clocks of the submitters of
	// neighbouring transactions may be: the skew endorsers allow.
	DefaultClockSkew = 5 * time.Minute
)

// DecisionsOptions are the inputs of `qc audit decisions`.
type DecisionsOptions struct {
	IO     *cmdutil.IOStreams
	Ledger func(context.Context) (*cmdutil.Ledger, error)
	Output cmdutil.OutputFlags
	Ctx    context.Context

	Institution string // "" for every institution
	Period      cmdutil.TimeRange
	Rules       DecisionRules
}

// DecisionRules are what `qc audit decisions` holds decisions to besides
// their signatures.
type DecisionRules struct {
	// MinKeyAge is how long before a grant the key that signs it must have
	// been enrolled: a key enrolled with an ID token, or, for a key a
	// device approved, the key enrolled with an ID token its approvals
	// lead back to.
	MinKeyAge time.Duration
	// ClockSkew is how far out of block order a decision's time may be.
	ClockSkew time.Duration
	// RequireUserVerification makes a decision the device made without
	// verifying the citizen a finding; otherwise it is only counted.
	RequireUserVerification bool
}

// DecisionFinding is something wrong with a citizen's recorded decision.
type DecisionFinding struct {
	Code            string       `json:"code"`
	AuthorizationID string       `json:"authorization_id"`
	Requester       string       `json:"requester"`
	Action          model.Action `json:"action"`
	KeyID           string       `json:"key_id"`
	// KeyKind and KeyProof are the signing key's kind and enrolment proof,
	// as the citizen's record has them; empty if it has no such key.
	KeyKind  string `json:"key_kind"`
	KeyProof string `json:"key_proof"`
	At       string `json:"at"`
	TxID     string `json:"tx_id"`
	Detail   string `json:"detail"`
}

// DecisionsReport is the outcome of `qc audit decisions`.
type DecisionsReport struct {
	Since          string `json:"since,omitempty"`
	Until          string `json:"until,omitempty"`
	Peer           string `json:"peer"`
	Authorizations int    `json:"authorizations"`
	Decisions      int    `json:"decisions"` // authorisations with a last decision, checked
	MinKeyAge      string `json:"min_key_age"`
	// RequireUserVerification is --require-user-verification.
	RequireUserVerification bool `json:"require_user_verification"`
	// UserVerified and NotUserVerified count the checked decisions by
	// whether the device verified the citizen.
	UserVerified    int               `json:"user_verified"`
	NotUserVerified int               `json:"not_user_verified"`
	SigningKeys     SigningKeyCounts  `json:"signing_keys"`
	Checked         []CheckedDecision `json:"checked"`
	Findings        []DecisionFinding `json:"findings"`
	Notes           []string          `json:"notes"`
}

// NewCmdDecisions returns `qc audit decisions`.
func NewCmdDecisions(f *cmdutil.Factory, runF func(*DecisionsOptions) error) *cobra.Command {
	opts := &DecisionsOptions{IO: f.IOStreams, Ledger: f.Ledger}
	var since, until string
	cmd := &cobra.Command{
		Use:   "decisions [--institution MSP] [--since T] [--until T] [--min-key-age D] [--require-user-verification]",
		Short: "Verify every citizen decision's signature again, from the ledger alone",
		Long: `Verify the last decision of every authorisation requested in the period
(consent:ListAuthorizationsByRequester of every bank and insurer, or of
--institution), from what the ledger holds and nothing else: the signed
payload must be a canonical v1 payload naming this channel, this
authorisation and exactly its terms; the signature must verify with the
citizen's device key it names (registry:GetCitizen in the requester's
records), which must have been active at the decision's time, enrolled
with a proof the chaincode checked (an ID token, or the approval of
another active key of the same record), and enrolled for the subject the
authorisation records; the decision's time must be its transaction's and
fit the block order; and the granted terms must be within the purpose
template's ceilings. Each decision is listed with its key's kind and
proof, and the report counts decisions with and without user
verification and signing keys by proof and kind.

Findings:

  PAYLOAD_INVALID      the payload does not decode, or names another action
  PAYLOAD_MISMATCH     it names another channel, authorisation, state or terms
  PAYLOAD_NOT_FRESH    it was issued too long before the decision, or after it
  SIGNATURE_INVALID    the signature does not verify with the key
  KEY_UNKNOWN          no such key of the citizen in the requester's records
  KEY_NOT_ACTIVE       the key was added after the decision or revoked before it
  KEY_WITHOUT_PROOF    the key has no recorded enrolment proof or subject (enrolled
                       before proofs were required), or a record the chaincode
                       does not write
  SUBJECT_MISMATCH     the key was enrolled for another subject than the
                       authorisation's, or the authorisation has no subject
                       (requested before subjects were required)
  APPROVER_UNKNOWN     the key's approver, or one further up its approvals, is not
                       a key of the same record active when it approved
  KEY_TOO_YOUNG        a grant signed less than --min-key-age after the key was
                       enrolled with an ID token, or, for a key a device approved,
                       after the ID-token key its approvals lead back to
  NOT_USER_VERIFIED    the device did not verify the citizen (with
                       --require-user-verification; otherwise only counted)
  TX_NOT_FOUND         the decision's transaction is not on this peer
  TIME_OUT_OF_ORDER    the decision's time is not its transaction's, or is out of
                       block order by more than --clock-skew
  BEYOND_PURPOSE       the granted validity, uses, data range or categories exceed
                       the purpose template

Findings exit with status 3.`,
		Example: `  qc audit decisions --since 2026-11-01 --until 2026-11-30
  qc audit decisions --institution BankMSP --min-key-age 1h --json
  qc audit decisions --require-user-verification`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Institution != "" {
				if opts.Institution, err = parseMSP(opts.Institution); err != nil {
					return err
				}
			}
			if opts.Period, err = cmdutil.ParseTimeRange(since, until); err != nil {
				return err
			}
			if opts.Rules.MinKeyAge < 0 || opts.Rules.ClockSkew < 0 {
				return cmdutil.UsageErrorf("--min-key-age and --clock-skew must not be negative")
			}
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return decisionsRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Institution, "institution", "", "only this requesting institution's authorisations (MSP ID)")
	cmd.Flags().StringVar(&since, "since", "", "authorisations requested at or after this time")
	cmd.Flags().StringVar(&until, "until", "", "authorisations requested at or before this time")
	cmd.Flags().DurationVar(&opts.Rules.MinKeyAge, "min-key-age", DefaultMinKeyAge, "flag grants made sooner than this after the ID-token enrolment that vouches for the key")
	cmd.Flags().DurationVar(&opts.Rules.ClockSkew, "clock-skew", DefaultClockSkew, "how far out of block order a transaction's time may be")
	cmd.Flags().BoolVar(&opts.Rules.RequireUserVerification, "require-user-verification", false, "flag decisions the device made without verifying the citizen")
	cmdutil.AddFormatFlags(cmd, &opts.Output)
	return cmd
}

func decisionsRun(opts *DecisionsOptions) error {
	format, err := opts.Output.Resolve()
	if err != nil {
		return err
	}
	lc, err := opts.Ledger(opts.Ctx)
	if err != nil {
		return err
	}
	rep, err := CheckDecisions(opts.Ctx, lc, opts.Institution, opts.Period, opts.Rules)
	if err != nil {
		return err
	}
	switch format {
	case cmdutil.FormatJSON:
		err = cmdutil.WriteJSON(opts.IO.Out, rep)
	case cmdutil.FormatCSV:
		rows := make([][]string, len(rep.Findings))
		for i, f := range rep.Findings {
			rows[i] = []string{f.Code, f.AuthorizationID, f.Requester, string(f.Action), f.KeyID, f.At, f.TxID, f.Detail, f.KeyKind, f.KeyProof}
		}
		err = cmdutil.WriteCSV(opts.IO.Out, []string{"code", "authorization_id", "requester", "action", "key_id", "at", "tx_id", "detail", "key_kind", "key_proof"}, rows)
	default:
		err = writeDecisions(opts.IO, rep)
	}
	if err != nil {
		return err
	}
	if len(rep.Findings) > 0 {
		return cmdutil.FailedCheckf("%d finding(s) in %d decision(s)", len(rep.Findings), rep.Decisions)
	}
	return nil
}

func writeDecisions(ios *cmdutil.IOStreams, r *DecisionsReport) error {
	w := ios.Out
	fmt.Fprintf(w, "Citizen decisions, authorisations requested %s to %s, from %s's peer\n", orOpen(r.Since, "the beginning"), orOpen(r.Until, "now"), r.Peer)
	fmt.Fprintf(w, "%d authorisation(s), %d decision(s) verified, %d finding(s)\n", r.Authorizations, r.Decisions, len(r.Findings))
	fmt.Fprintf(w, "user verification: %d decision(s) with, %d without\n", r.UserVerified, r.NotUserVerified)
	k := r.SigningKeys
	fmt.Fprintf(w, "signing key(s): %d; enrolled with an ID token %s, approved by a device %s, without a proof %s, unknown %d\n",
		k.Total, k.IDToken, k.Device, k.WithoutProof, k.Unknown)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(r.Checked) > 0 {
		fmt.Fprintln(w, "\nDECISIONS")
		t := cmdutil.NewTable(w, "AUTHORIZATION", "REQUESTER", "ACTION", "AT", "KEY", "KIND", "PROOF", "APPROVED BY", "USER VERIFIED", "FINDINGS")
		for _, d := range r.Checked {
			t.Row(d.AuthorizationID, d.Requester, string(d.Action), d.At, cmdutil.Short(d.KeyID), cmdutil.OrDash(d.KeyKind), cmdutil.OrDash(d.KeyProof),
				cmdutil.OrDash(cmdutil.Short(d.ApprovedBy)), map[bool]string{true: "yes", false: "no"}[d.UserVerified], fmt.Sprint(d.Findings))
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	if len(r.Findings) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nFINDINGS")
	t := cmdutil.NewTable(w, "CODE", "AUTHORIZATION", "REQUESTER", "ACTION", "KEY", "AT", "TX", "DETAIL")
	for _, f := range r.Findings {
		t.Row(f.Code, f.AuthorizationID, f.Requester, string(f.Action), cmdutil.Short(f.KeyID), f.At, f.TxID, f.Detail)
	}
	return t.Flush()
}

// CheckDecisions verifies the last decision of every authorisation of
// institution ("" for all) requested in period against rules.
func CheckDecisions(ctx context.Context, lc *cmdutil.Ledger, institution string, period cmdutil.TimeRange, rules DecisionRules) (*DecisionsReport, error) {
	rep := &DecisionsReport{Since: period.SinceArg(), Until: period.UntilArg(), Peer: lc.MSPID, MinKeyAge: rules.MinKeyAge.String(),
		RequireUserVerification: rules.RequireUserVerification, Checked: []CheckedDecision{}, Findings: []DecisionFinding{}, Notes: []string{}}
	keys := keyTally{counts: &rep.SigningKeys, seen: map[string]bool{}}
	msps := []string{institution}
	if institution == "" {
		var err error
		if msps, err = lc.Requesters(ctx); err != nil {
			return nil, err
		}
	}
	citizens := map[string]*model.Citizen{}
	purposes := map[string]*model.Purpose{}
	blocks := &blockTimes{lc: lc, byNumber: map[uint64][]time.Time{}}
	for _, msp := range msps {
		q := ledger.ListQuery{Since: period.SinceArg(), Until: period.UntilArg(), PageSize: cmdutil.PageSize}
		auths, err := ledger.All(ctx, q, func(ctx context.Context, q ledger.ListQuery) (*model.Page[model.Authorization], error) {
			return lc.ListAuthorizationsByRequester(ctx, msp, q)
		})
		if err != nil {
			return nil, err
		}
		for _, a := range auths {
			rep.Authorizations++
			if a.LastDecision == nil {
				continue
			}
			rep.Decisions++
			ev := DecisionEvidence{Channel: lc.Channel}
			ck := a.Requester + "/" + a.CitizenRef
			c, ok := citizens[ck]
			if !ok {
				c, err = lc.GetCitizen(ctx, a.Requester, a.CitizenRef)
				if err != nil && ledger.CodeOf(err) != model.CodeCitizenNotFound {
					return nil, err
				}
				citizens[ck] = c
			}
			ev.Citizen = c
			p, ok := purposes[a.Purpose]
			if !ok {
				p, err = lc.GetPurpose(ctx, a.Purpose)
				if err != nil && ledger.CodeOf(err) != model.CodePurposeNotFound {
					return nil, err
				}
				purposes[a.Purpose] = p
			}
			ev.Purpose = p
			if ev.Terms, err = registryTerms(ctx, lc, &a, p); err != nil {
				return nil, err
			}
			if ev.Tx, err = blocks.place(ctx, a.LastDecision.TxID); err != nil {
				return nil, err
			}
			findings := CheckDecision(a, ev, rules)
			rep.Findings = append(rep.Findings, findings...)
			d := a.LastDecision
			checked := CheckedDecision{AuthorizationID: a.ID, Requester: a.Requester, Action: d.Action, At: d.At, KeyID: d.KeyID,
				UserVerified: d.UserVerified, Findings: len(findings)}
			if k, ok := signingKey(c, d.KeyID); ok {
				checked.KeyKind, checked.KeyProof, checked.ApprovedBy = k.Kind, k.Proof, k.ApprovedBy
			}
			rep.Checked = append(rep.Checked, checked)
			keys.add(a.Requester, a.CitizenRef, d.KeyID, c)
			if d.UserVerified {
				rep.UserVerified++
			} else {
				rep.NotUserVerified++
			}
		}
	}
	if rep.NotUserVerified > 0 && !rules.RequireUserVerification {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d decision(s) made without user verification: --require-user-verification makes each a finding", rep.NotUserVerified))
	}
	return rep, nil
}

// DecisionEvidence is what a decision is checked against besides its
// authorisation, all read from the ledger.
type DecisionEvidence struct {
	Channel string
	// Citizen is the citizen's record in the requester's collection; nil
	// if there is none.
	Citizen *model.Citizen
	// Purpose is the authorisation's purpose template; nil if unknown.
	Purpose *model.Purpose
	// Tx places the decision's transaction among its neighbours; nil if
	// the peer does not hold it.
	Tx *TxPlace
	// Terms are the registry's terms the payload had to sign (licence,
	// retention, category schema versions), as registered now.
	Terms model.Terms
}

// TxPlace is a transaction's time and the times around it in block order.
type TxPlace struct {
	Block     uint64
	Timestamp time.Time
	// Before is the latest time of the transactions before it (earlier in
	// its block, and in the previous block); After the earliest of those
	// after it (later in its block, and in the next block). Zero: none.
	Before, After time.Time
}

// CheckDecision verifies a's last decision against ev and rules. The key
// must have been active at the decision's time, enrolled with a proof the
// chaincode checked, and enrolled for a's subject; a grant's key must be
// vouched for by an ID-token enrolment at least rules.MinKeyAge old
// (signingkeys.go); the decision's time may be out of block order by at
// most rules.ClockSkew.
func CheckDecision(a model.Authorization, ev DecisionEvidence, rules DecisionRules) []DecisionFinding {
	d := a.LastDecision
	if d == nil {
		return nil
	}
	key, found := signingKey(ev.Citizen, d.KeyID)
	var out []DecisionFinding
	finding := func(code, format string, args ...any) {
		out = append(out, DecisionFinding{Code: code, AuthorizationID: a.ID, Requester: a.Requester, Action: d.Action, KeyID: d.KeyID,
			KeyKind: key.Kind, KeyProof: key.Proof, At: d.At, TxID: d.TxID, Detail: fmt.Sprintf(format, args...)})
	}
	at, atErr := time.Parse(time.RFC3339Nano, d.At)

	// The payload: canonical, this action, this authorisation and terms.
	payload, err := sig.DecodeBase64(d.Payload)
	var p *model.DecisionPayload
	if err == nil {
		p, err = model.ParseDecisionPayload(payload)
	}
	switch {
	case err != nil:
		finding(DecisionPayloadInvalid, "%s", errText(err))
	case p.Action != d.Action:
		finding(DecisionPayloadInvalid, "the payload signs %s, the ledger records %s", p.Action, d.Action)
	}
	if p != nil {
		signed := a // the terms as they stood when signed: only seq has moved on
		signed.Seq = p.Seq
		if err := p.Match(ev.Channel, &signed, ev.Terms); err != nil {
			finding(DecisionPayloadMismatch, "%s", errText(err))
		} else if p.Seq >= a.Seq {
			finding(DecisionPayloadMismatch, "signed seq %d, but the authorisation is at seq %d: the decision did not move it on", p.Seq, a.Seq)
		}
		if atErr == nil {
			if err := p.CheckFresh(at); err != nil {
				finding(DecisionPayloadStale, "issued %s, decided %s: %s", p.IssuedAt, d.At, errText(err))
			}
		}
	}

	// The key, its enrolment and the signature.
	if !found {
		finding(DecisionKeyUnknown, "no key %s of the citizen in %s's records", d.KeyID, a.Requester)
	} else if pub, err := sig.ParseJWK([]byte(key.JWK)); err != nil {
		finding(DecisionKeyUnknown, "key %s is not a P-256 public key: %s", d.KeyID, errText(err))
	} else {
		if sig.Thumbprint(pub) != d.KeyID {
			finding(DecisionKeyUnknown, "key %s has the thumbprint %s", d.KeyID, sig.Thumbprint(pub))
		}
		signature, err := sig.DecodeBase64(d.Signature)
		if err == nil && payload != nil {
			err = verifyDecisionSignature(pub, key.Kind, d, payload, signature)
		}
		var form formError
		switch {
		case errors.As(err, &form):
			finding(DecisionSignatureBad, "%s", form)
		case err != nil || payload == nil:
			finding(DecisionSignatureBad, "the signature does not verify with key %s", d.KeyID)
		}
	}
	if found {
		if problem := enrolmentProblem(ev.Citizen, key); problem != "" {
			finding(DecisionKeyNoProof, "%s", problem)
		}
		vouching, broken := vouchingKey(ev.Citizen, key)
		if broken != "" {
			finding(DecisionApproverUnknown, "%s", broken)
		}
		added, _ := time.Parse(time.RFC3339Nano, key.AddedAt)
		revoked, revErr := time.Parse(time.RFC3339Nano, key.RevokedAt)
		vouched, _ := time.Parse(time.RFC3339Nano, vouching.AddedAt)
		switch {
		case atErr != nil:
			finding(DecisionTimeOutOfOrder, "the decision's time %q is not a time", d.At)
		case added.IsZero() || added.After(at):
			finding(DecisionKeyNotActive, "key added %s, after the decision at %s", key.AddedAt, d.At)
		case key.RevokedAt != "" && (revErr != nil || !revoked.After(at)):
			finding(DecisionKeyNotActive, "key revoked %s, before the decision at %s", key.RevokedAt, d.At)
		case d.Action == model.ActionGrant && vouching.KeyID == key.KeyID && at.Sub(added) < rules.MinKeyAge:
			finding(DecisionKeyTooYoung, "grant signed %s after the key was added (%s), less than %s",
				at.Sub(added).Round(time.Millisecond), key.AddedAt, rules.MinKeyAge)
		case d.Action == model.ActionGrant && at.Sub(vouched) < rules.MinKeyAge:
			finding(DecisionKeyTooYoung, "grant signed %s after key %s was added (%s), which approved this key's enrolment, directly or through other devices: less than %s",
				at.Sub(vouched).Round(time.Millisecond), vouching.KeyID, vouching.AddedAt, rules.MinKeyAge)
		}
	}
	if problem := subjectProblem(a, key, found); problem != "" {
		finding(DecisionSubjectMismatch, "%s", problem)
	}
	if rules.RequireUserVerification && !d.UserVerified {
		kind := key.Kind
		if kind == "" {
			kind = "unknown"
		}
		finding(DecisionNotUserVerified, "the device did not verify the citizen for this decision (key kind %s)", kind)
	}

	// The decision's time and the block order.
	switch {
	case ev.Tx == nil:
		finding(DecisionTxNotFound, "transaction %s is not on the peer", d.TxID)
	case atErr == nil && model.FormatTime(ev.Tx.Timestamp) != d.At:
		finding(DecisionTimeOutOfOrder, "the decision says %s, its transaction (block %d) %s", d.At, ev.Tx.Block, model.FormatTime(ev.Tx.Timestamp))
	case !ev.Tx.Before.IsZero() && ev.Tx.Timestamp.Before(ev.Tx.Before.Add(-rules.ClockSkew)):
		finding(DecisionTimeOutOfOrder, "transaction time %s in block %d, but a transaction before it says %s",
			model.FormatTime(ev.Tx.Timestamp), ev.Tx.Block, model.FormatTime(ev.Tx.Before))
	case !ev.Tx.After.IsZero() && ev.Tx.Timestamp.After(ev.Tx.After.Add(rules.ClockSkew)):
		finding(DecisionTimeOutOfOrder, "transaction time %s in block %d, but a transaction after it says %s",
			model.FormatTime(ev.Tx.Timestamp), ev.Tx.Block, model.FormatTime(ev.Tx.After))
	}

	// The granted terms against the purpose's ceilings.
	if a.GrantedAt != "" || d.Action == model.ActionGrant {
		for _, problem := range beyondPurpose(a, ev.Purpose) {
			finding(DecisionBeyondPurpose, "%s", problem)
		}
	}
	return out
}

// subjectProblem says why the signing key k (found: the record has it)
// is not bound to the person a asks: the rule the chaincode's Decide
// applies (SUBJECT_MISMATCH), checked again. An authorisation without a
// subject binds no key, whichever signed; an unknown key is KEY_UNKNOWN's.
// Neither digest is shown: an ID number has few enough values that a
// digest can be searched back to it.
func subjectProblem(a model.Authorization, k model.DeviceKey, found bool) string {
	switch {
	case a.Subject == "":
		return "the authorisation records no subject: requested before the chaincode required one"
	case !found:
		return ""
	case k.Subject == "":
		return fmt.Sprintf("key %s records no subject, so it is bound to no one", k.KeyID)
	case k.Subject != a.Subject:
		return fmt.Sprintf("key %s was enrolled for another subject than the authorisation's: an ID number other than the one the requester was given", k.KeyID)
	}
	return ""
}

// beyondPurpose lists how a's terms exceed the purpose template p.
func beyondPurpose(a model.Authorization, p *model.Purpose) []string {
	if p == nil {
		return []string{fmt.Sprintf("purpose %s is not registered", a.Purpose)}
	}
	var out []string
	requested, err1 := time.Parse(time.RFC3339Nano, a.RequestedAt)
	until, err2 := time.Parse(time.RFC3339Nano, a.ValidUntil)
	if err1 == nil && err2 == nil && until.After(requested.Add(time.Duration(p.MaxValidityDays)*24*time.Hour)) {
		out = append(out, fmt.Sprintf("valid until %s, more than %s's %d days after the request (%s)", a.ValidUntil, p.Code, p.MaxValidityDays, a.RequestedAt))
	}
	if a.MaxUses > p.MaxUses {
		out = append(out, fmt.Sprintf("%d uses, %s allows %d", a.MaxUses, p.Code, p.MaxUses))
	}
	from, err1 := time.Parse(model.DateFormat, a.DataFrom)
	to, err2 := time.Parse(model.DateFormat, a.DataTo)
	if days := int(to.Sub(from).Hours()/24) + 1; err1 == nil && err2 == nil && days > p.MaxDataRangeDays {
		out = append(out, fmt.Sprintf("data of %d days (%s to %s), %s allows %d", days, a.DataFrom, a.DataTo, p.Code, p.MaxDataRangeDays))
	}
	var outside []string
	for _, c := range a.Categories {
		allowed := false
		for _, ac := range p.AllowedCategories {
			allowed = allowed || ac == c
		}
		if !allowed {
			outside = append(outside, c)
		}
	}
	if len(outside) > 0 {
		out = append(out, fmt.Sprintf("categories %s not allowed for %s", strings.Join(outside, ","), p.Code))
	}
	return out
}

// errText is an error's message without the code prefix a model error
// carries.
func errText(err error) string {
	var me *model.Error
	if errors.As(err, &me) {
		return string(me.Code) + ": " + me.Message
	}
	return err.Error()
}

// registryTerms reads the terms a's decision payload signs from the
// registry: the requester's licence, the purpose's retention and each
// category's schema version.
func registryTerms(ctx context.Context, lc *cmdutil.Ledger, a *model.Authorization, p *model.Purpose) (model.Terms, error) {
	inst, err := lc.GetInstitution(ctx, a.Requester)
	if err != nil {
		return model.Terms{}, err
	}
	if p == nil {
		p = &model.Purpose{}
	}
	cats := make([]*model.Category, len(a.Categories))
	for i, code := range a.Categories {
		if cats[i], err = lc.GetCategory(ctx, code); err != nil {
			return model.Terms{}, err
		}
	}
	return model.TermsOf(inst, p, cats), nil
}

// formError is a decision whose form does not fit its key's kind, or its
// own user_verified.
type formError string

func (e formError) Error() string { return string(e) }

// verifyDecisionSignature checks a decision's signature of payload by a
// key of kind (as enrolled; "" for a key enrolled before kinds were
// recorded): a raw ES256 signature by a WebCrypto key, or a passkey's
// assertion, its signature over authenticatorData ‖
// SHA-256(clientDataJSON), whose challenge must be SHA-256(payload) and
// whose flags must say the user was verified as the decision records. A
// key of no recorded kind is held to the form the decision has. The
// relying party and origins are the identity policy's, which the
// chaincode checked; qc checks what binds the citizen's key to the payload.
func verifyDecisionSignature(pub *ecdsa.PublicKey, kind string, d *model.Decision, payload, signature []byte) error {
	assertion := d.AuthenticatorData != "" || d.ClientDataJSON != ""
	switch {
	case kind == model.KeyWebAuthn && !assertion:
		return formError(fmt.Sprintf("key %s is a passkey, but the decision keeps no assertion", d.KeyID))
	case kind == model.KeyWebCrypto && assertion:
		return formError(fmt.Sprintf("key %s is a WebCrypto key, which makes no assertions, but the decision keeps one", d.KeyID))
	case !assertion && d.UserVerified:
		return formError("a raw signature verifies no one, but the decision records user_verified")
	case !assertion:
		return sig.Verify(pub, payload, signature)
	}
	ad, err1 := sig.DecodeBase64(d.AuthenticatorData)
	cd, err2 := sig.DecodeBase64(d.ClientDataJSON)
	if err1 != nil || err2 != nil || len(ad) < 37 {
		return errors.New("malformed assertion")
	}
	var client struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	want := sha256.Sum256(payload)
	if json.Unmarshal(cd, &client) != nil || client.Type != "webauthn.get" ||
		client.Challenge != base64.RawURLEncoding.EncodeToString(want[:]) {
		return errors.New("the assertion's challenge is not the payload's")
	}
	if uv := ad[32]&0x04 != 0; ad[32]&0x01 == 0 || uv != d.UserVerified {
		return errors.New("the assertion's flags are not the decision's")
	}
	cdHash := sha256.Sum256(cd)
	return sig.Verify(pub, append(append([]byte(nil), ad...), cdHash[:]...), signature)
}
