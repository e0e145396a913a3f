package store_test

import (
	"context"
	"fmt"

	"github.com/quanchain/quanchain/gateway/internal/store"
)

// A writing request under an idempotency key: the first attempt runs and
// stores its response, a retry replays it, and the same key with another
// request is refused.
func ExampleStore_BeginIdempotent() {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://:memory:")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()

	handle := func(requestHash string) {
		rec, started, err := st.BeginIdempotent(ctx, "bank-app", "loan-4711", requestHash)
		switch {
		case err != nil:
			fmt.Println("refused:", err)
		case started:
			// … do the work, then keep the response for retries.
			fmt.Println("ran the request")
			st.CompleteIdempotent(ctx, "bank-app", "loan-4711", 201, []byte(`{"id":"auth-1"}`))
		default:
			fmt.Println("replayed", rec.ResponseStatus, string(rec.ResponseBody))
		}
	}
	handle("sha256-of-request-A")
	handle("sha256-of-request-A")
	handle("sha256-of-request-B")
	// Output:
	// ran the request
	// replayed 201 {"id":"auth-1"}
	// refused: store: idempotency key reused with a different request
}
