package function

import (
	"context"
	"errors"
	"fmt"

	"motcua/shared/application"
	"motcua/shared/docstore"
	"motcua/shared/receipt/book"
)

// receiptPath is the receipt function's route the link points at.
const receiptPath = "/function/receipt"

// receiptLinker returns the receipt link of an application from the
// receipt book's by-application marker (nil when no receipt is issued).
func receiptLinker(store docstore.Store) func(ctx context.Context, code string) (*application.ReceiptLink, error) {
	return func(ctx context.Context, code string) (*application.ReceiptLink, error) {
		var l book.AppLink
		_, err := docstore.GetJSON(ctx, store, book.ByApplicationKey(code), &l)
		if errors.Is(err, docstore.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("receipt link of %s: %w", code, err)
		}
		return &application.ReceiptLink{Number: l.ID.String(), URL: book.LinkFor(receiptPath, l.ID, l.LookupCode, "json")}, nil
	}
}
