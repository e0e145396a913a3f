package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/quanchain/quanchain/chaincode/model"
)

// Finding codes of the access report.
const (
	FindingAuthorizationMissing = "AUTHORIZATION_MISSING"
	FindingRequesterMismatch    = "REQUESTER_MISMATCH"
	FindingCitizenMismatch      = "CITIZEN_MISMATCH"
	FindingNotGranted           = "NOT_GRANTED"
	FindingExpired              = "EXPIRED"
	FindingCategoryNotCovered   = "CATEGORY_NOT_COVERED"
	FindingUsesExceeded         = "USES_EXCEEDED"
)

// Finding is something wrong with one access.
type Finding struct {
	Code            string `json:"code"`
	AccessID        string `json:"access_id"`
	AccessedAt      string `json:"accessed_at"`
	Requester       string `json:"requester"`
	AuthorizationID string `json:"authorization_id"`
	Detail          string `json:"detail"`
	TxID            string `json:"tx_id"` // the access's transaction
}

// CheckAccess checks one access against the history of its authorisation
// (newest first, as registry:History returns it). The authorisation is
// taken as it stood just before the access: the version before the one the
// access's own transaction wrote (a delivery always updates the use count),
// else the last version committed at or before the access time.
func CheckAccess(a model.Access, history []model.HistoryEntry) []Finding {
	finding := func(code, format string, args ...any) Finding {
		return Finding{Code: code, AccessID: a.ID, AccessedAt: a.AccessedAt, Requester: a.Requester,
			AuthorizationID: a.AuthorizationID, TxID: a.TxID, Detail: fmt.Sprintf(format, args...)}
	}
	prior, ok := stateBefore(a, history)
	if !ok {
		return []Finding{finding(FindingAuthorizationMissing, "no version of authorisation %s before the access", a.AuthorizationID)}
	}
	var auth model.Authorization
	if err := json.Unmarshal([]byte(prior.Value), &auth); err != nil {
		return []Finding{finding(FindingAuthorizationMissing, "authorisation %s as of tx %s does not decode: %v", a.AuthorizationID, prior.TxID, err)}
	}
	var out []Finding
	if auth.Requester != a.Requester {
		out = append(out, finding(FindingRequesterMismatch, "authorised for %s, delivered to %s", auth.Requester, a.Requester))
	}
	if auth.CitizenRef != a.CitizenRef {
		out = append(out, finding(FindingCitizenMismatch, "authorisation of citizen %s, access records citizen %s", auth.CitizenRef, a.CitizenRef))
	}
	if auth.Status != model.AuthGranted {
		out = append(out, finding(FindingNotGranted, "authorisation was %s (as of tx %s)", auth.Status, prior.TxID))
	}
	if at, until := parse(a.AccessedAt), parse(auth.ValidUntil); !at.IsZero() && !until.IsZero() && at.After(until) {
		out = append(out, finding(FindingExpired, "accessed %s, valid until %s", a.AccessedAt, auth.ValidUntil))
	}
	if !auth.Covers(a.Categories) {
		var missing []string
		for _, c := range a.Categories {
			if !auth.Covers([]string{c}) {
				missing = append(missing, c)
			}
		}
		out = append(out, finding(FindingCategoryNotCovered, "%s not in the authorised %s", strings.Join(missing, ","), strings.Join(auth.Categories, ",")))
	}
	if a.UseNumber > auth.MaxUses {
		out = append(out, finding(FindingUsesExceeded, "use %d of at most %d", a.UseNumber, auth.MaxUses))
	}
	return out
}

// stateBefore finds the version of the authorisation in force when the
// access was made.
func stateBefore(a model.Access, history []model.HistoryEntry) (model.HistoryEntry, bool) {
	// history is newest first: the entry after the access's own is older.
	for i, e := range history {
		if e.TxID == a.TxID {
			if i+1 < len(history) && !history[i+1].IsDelete {
				return history[i+1], true
			}
			return model.HistoryEntry{}, false
		}
	}
	at := parse(a.AccessedAt)
	for _, e := range history {
		if t := parse(e.Timestamp); !t.IsZero() && !at.IsZero() && !t.After(at) {
			return e, !e.IsDelete
		}
	}
	return model.HistoryEntry{}, false
}

func parse(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
