// Package operator is qc's client of the operator's gateway: the pseudonym
// service on its mutual-TLS listener (an ID number in, a citizenRef out) and
// the admin API (API clients, dataset imports).
//
// qc never holds the pseudonym key: only the operator can turn an ID number
// into a citizenRef, and it does so only for a member organisation that
// presents its Fabric TLS client identity.
package operator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// APIError is an error answer of the gateway: its HTTP status and stable
// code.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gateway answered %d %s", e.Status, e.Code)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

// NotFound reports whether the gateway said that something does not exist
// (qc's exit status 4).
func (e *APIError) NotFound() bool { return e.Status == http.StatusNotFound }

// ErrUnreachable marks a gateway that could not be reached at all.
var ErrUnreachable = errors.New("operator gateway unreachable")

// maxAnswer bounds what is read of an answer.
const maxAnswer = 4 << 20

// decodeAnswer reads a JSON answer into out if the status is 2xx, and
// returns an *APIError otherwise.
func decodeAnswer(resp *http.Response, out any) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("reading the gateway's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Code      string `json:"code"`
				Message   string `json:"message"`
				RequestID string `json:"request_id"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			e.Error.Code = strings.ReplaceAll(strings.ToUpper(http.StatusText(resp.StatusCode)), " ", "_")
		}
		return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, RequestID: e.Error.RequestID}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("the gateway's answer is not the expected JSON: %w", err)
	}
	return nil
}
