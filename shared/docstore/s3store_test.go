package docstore_test

import (
	"context"
	"testing"

	"motcua/infra/embedded"
	"motcua/shared/awsx"
	"motcua/shared/docstore"
	"motcua/shared/docstore/docstoretest"
)

// TestS3Store_contract_embedded runs the contract suite through the real AWS
// SDK against the embedded stack's S3 server, in its motcua-data bucket.
func TestS3Store_contract_embedded(t *testing.T) {
	stack := embedded.StartForTest(t)
	cfg, err := stack.AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	client := awsx.S3(cfg)
	docstoretest.Run(t, func(t *testing.T) docstore.Store {
		return docstore.NewS3Store(client, nil, "motcua-data")
	})
}
