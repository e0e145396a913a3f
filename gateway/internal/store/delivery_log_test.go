package store

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDeliveryLog(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		t0 := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
		salt := bytes.Repeat([]byte{7}, 32)
		for i, id := range []string{"acc-c", "acc-a", "acc-b", "acc-d"} {
			at := t0.Add(time.Duration(i/2) * time.Hour) // acc-c and acc-a at t0, acc-b and acc-d an hour later
			s.now = func() time.Time { return at }
			if _, _, err := s.RecordDelivery(ctx, Delivery{AccessID: id, AuthorizationID: "loan-1", RequesterMSP: "BankMSP",
				Digest: strings.Repeat("ab", 32), DigestSalt: salt, TxID: "tx-" + id}); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		q := DeliveryLogQuery{Since: t0, Until: t0.Add(time.Hour), Limit: 3}
		for {
			page, err := s.Deliveries(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page {
				got = append(got, d.AccessID+"@"+d.TxID)
			}
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.After = LogPosition{At: last.CreatedAt, Key: last.AccessID}
		}
		if strings.Join(got, ",") != "acc-a@tx-acc-a,acc-c@tx-acc-c,acc-b@tx-acc-b,acc-d@tx-acc-d" {
			t.Fatalf("pages %v", got)
		}
		page, err := s.Deliveries(ctx, DeliveryLogQuery{Since: t0.Add(time.Minute), Limit: 10})
		if err != nil || len(page) != 2 || page[0].AccessID != "acc-b" {
			t.Fatalf("since: %v %v", page, err)
		}
		if _, err := s.Deliveries(ctx, DeliveryLogQuery{Limit: 0}); err == nil {
			t.Fatal("a page of 0 rows was accepted")
		}

		// The requester's kept data requests: done and kept for the
		// replayer only.
		for i, key := range []string{"k2", "k1", "k3"} {
			at := t0.Add(time.Duration(i) * time.Minute)
			s.now = func() time.Time { return at }
			if _, _, err := s.BeginIdempotent(ctx, "institution:c1", key, "h"); err != nil {
				t.Fatal(err)
			}
			replayer := "data-request"
			if key == "k3" {
				replayer = ""
			}
			if err := s.CompleteIdempotentWith(ctx, "institution:c1", key, 200, []byte(`{"n":"`+key+`"}`), replayer); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.BeginIdempotent(ctx, "institution:c1", "k4", "h"); err != nil { // pending: not listed
			t.Fatal(err)
		}
		kept, err := s.KeptResponses(ctx, "data-request", DeliveryLogQuery{Limit: 1})
		if err != nil || len(kept) != 1 || string(kept[0].Body) != `{"n":"k2"}` || !kept[0].CompletedAt.Equal(t0) {
			t.Fatalf("kept %+v %v", kept, err)
		}
		kept, err = s.KeptResponses(ctx, "data-request", DeliveryLogQuery{After: kept[0].Position, Limit: 5})
		if err != nil || len(kept) != 1 || string(kept[0].Body) != `{"n":"k1"}` {
			t.Fatalf("kept after %+v %v", kept, err)
		}
		kept, err = s.KeptResponses(ctx, "data-request", DeliveryLogQuery{Until: t0.Add(30 * time.Second), Limit: 5})
		if err != nil || len(kept) != 1 {
			t.Fatalf("kept until %+v %v", kept, err)
		}
	})
}
