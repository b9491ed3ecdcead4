package s3server

// SetMultiDeleteHook makes every multi-object delete of s call f while it
// holds its locks, before it commits. Set it before serving requests.
func SetMultiDeleteHook(s *Server, f func()) { s.multiDeleteLocked = f }

// Stripe is the key-lock stripe of bucket/key.
func Stripe(bucket, key string) int { return stripe(bucket, key) }
