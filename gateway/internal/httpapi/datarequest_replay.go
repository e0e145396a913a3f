package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/quanchain/quanchain/chaincode/model"
)

// dataRequestReplay is what an Idempotency-Key keeps of an answered data
// request: the request as sent to the provider and the provider's answer,
// whose payload stays sealed to this gateway's key. Neither the records
// nor a predicate's answer are kept in the clear.
type dataRequestReplay struct {
	Request  DeliveryRequest   `json:"request"`
	Delivery *DeliveryResponse `json:"delivery"`
}

// replayDataRequest answers a retry of an answered data request.
//
// The data is handed out again only while the authorisation is usable, by
// the rule the chaincode records accesses by, the uses already counted
// aside (model.Authorization.Redeliverable), read now from this gateway's
// own peer. After a revocation, a pause, the end of the validity or the
// suspension of this institution,
// the retry is refused with the code a new request would get (409
// AUTH_REVOKED, …; 403 INSTITUTION_INACTIVE), and the message names the
// access that answered the key. Otherwise the kept delivery is opened and
// verified again as when it arrived, so a record revoked since fails it.
func (s *Server) replayDataRequest(w http.ResponseWriter, r *http.Request, stored *StoredResponse) error {
	d, err := s.dataRequestAPI()
	if err != nil {
		return err
	}
	var kept dataRequestReplay
	if err := json.Unmarshal(stored.Body, &kept); err != nil || kept.Delivery == nil {
		return errors.New("httpapi: a kept data request is not a delivery")
	}
	_, pred, err := kept.Request.Validate()
	if err != nil {
		return errors.New("httpapi: a kept data request is not a valid request")
	}
	ctx := r.Context()
	a, err := d.cfg.Ledger.GetAuthorization(ctx, kept.Request.AuthorizationID)
	if err != nil {
		return err
	}
	inst, err := d.cfg.Ledger.GetInstitution(ctx, s.MSPID)
	if err != nil {
		return err
	}
	if err := a.Redeliverable(inst, s.Now()); err != nil {
		var me *model.Error
		if !errors.As(err, &me) {
			return err
		}
		return codeErr(me.Code, "%s; access %s (transaction %s) answered this Idempotency-Key and its data is not handed out again",
			me.Message, kept.Delivery.AccessID, kept.Delivery.TxID)
	}
	out, err := d.verify(ctx, s.MSPID, a, kept.Request, pred, kept.Delivery)
	if err != nil {
		return err
	}
	writeJSON(w, stored.Status, out)
	return nil
}
