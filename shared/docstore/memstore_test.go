package docstore_test

import (
	"testing"

	"motcua/shared/docstore"
	"motcua/shared/docstore/docstoretest"
)

func TestMemStore_contract(t *testing.T) {
	docstoretest.Run(t, func(t *testing.T) docstore.Store { return docstore.NewMemStore("motcua-data") },
		docstoretest.WithoutPresignHTTP("MemStore URLs use the mem:// scheme"))
}
