package httpapi

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/quanchain/quanchain/ledger"
)

// pageOf cuts one page out of a merged listing: the cursor is the offset
// of its first item.
func pageOf[T any](items []T, q ledger.ListQuery) ([]T, string, error) {
	start := 0
	if q.Bookmark != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Bookmark)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || perr != nil || !strings.HasPrefix(string(b), "o:") || n < 0 || n > len(items) {
			return nil, "", apiErr(400, CodeInvalidArgument, "cursor is not valid")
		}
		start = n
	}
	size := int(q.PageSize)
	if size <= 0 {
		size = 20
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}
