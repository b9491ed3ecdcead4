// Package function is the "procedures" function: the public procedure
// (TTHC) catalog, read-only.
//
//	GET ?code=X.HT.001                 one procedure (404 problem if unknown)
//	GET ?q=&field=&agency=&level=&page=&pageSize=   a page of procedures
//
// Any other method gets 405. Bad parameters get a 400 problem naming them.
// If the bucket holds no catalog yet, the first request loads the embedded
// seed catalog into it (create-once); operators load real catalogs with
// `motcua catalog load`. The catalog is kept in memory and re-checked
// against storage at most every 30 s. The HTTP adapter is catalog.HTTP.
package function

import (
	"net/http"

	"motcua/shared/catalog"
	"motcua/shared/platform"
)

// Handle answers one call of the procedures function.
var Handle = platform.Serve(func(p *platform.Platform) (*catalog.HTTP, error) {
	return catalog.NewHTTP(catalog.NewService(p.Store, p.Log, catalog.ServiceOptions{SeedIfEmpty: true}), p.Log), nil
}, http.MethodGet)
