package config

import (
	"errors"
	"fmt"
	"strings"
)

// Configuration keys shared by every function.
const (
	// KeyBucket names the documents bucket.
	KeyBucket = "MOTCUA_BUCKET"
	// KeyUploadsBucket names the citizens' uploads bucket (optional).
	KeyUploadsBucket = "MOTCUA_UPLOADS_BUCKET"
	// KeyEventsQueue names the queue a function publishes its events to
	// (optional).
	KeyEventsQueue = "MOTCUA_EVENTS_QUEUE"
	// KeyLogLevel is the slog level: debug, info, warn or error.
	KeyLogLevel = "MOTCUA_LOG_LEVEL"
)

// LogLevels are the accepted values of MOTCUA_LOG_LEVEL.
var LogLevels = []string{"debug", "info", "warn", "error"}

// Common is the configuration every function shares.
type Common struct {
	// Bucket is the documents bucket (MOTCUA_BUCKET, required).
	Bucket string
	// UploadsBucket is the uploads bucket (MOTCUA_UPLOADS_BUCKET); empty
	// when the function does not handle uploads.
	UploadsBucket string
	// EventsQueue is the queue for the function's events
	// (MOTCUA_EVENTS_QUEUE); empty when it publishes none.
	EventsQueue string
	// LogLevel is debug, info, warn or error (MOTCUA_LOG_LEVEL, default info).
	LogLevel string
}

// LoadCommon reads Common from src and validates it; the error names every
// missing or bad key.
func LoadCommon(src Source) (Common, error) {
	// Presence and format checks live in Validate, so that every problem is
	// reported once and at once.
	r := NewReader(src)
	c := Common{
		Bucket:        r.String(KeyBucket),
		UploadsBucket: r.String(KeyUploadsBucket),
		EventsQueue:   r.String(KeyEventsQueue),
		LogLevel:      strings.ToLower(r.String(KeyLogLevel, Default("info"))),
	}
	if err := errors.Join(r.Err(), c.Validate()); err != nil {
		return Common{}, fmt.Errorf("load common config: %w", err)
	}
	return c, nil
}

// Validate reports every problem in c, each naming its key.
func (c Common) Validate() error {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, &KeyError{Key: KeyBucket, Err: ErrMissing})
	} else if err := validBucket(c.Bucket); err != nil {
		errs = append(errs, &KeyError{Key: KeyBucket, Err: err})
	}
	if c.UploadsBucket != "" {
		if err := validBucket(c.UploadsBucket); err != nil {
			errs = append(errs, &KeyError{Key: KeyUploadsBucket, Err: err})
		}
	}
	if c.EventsQueue != "" && !validQueue(c.EventsQueue) {
		errs = append(errs, &KeyError{Key: KeyEventsQueue, Err: fmt.Errorf("%w: queue names are 1-80 letters, digits, - or _", ErrInvalid)})
	}
	switch c.LogLevel {
	case "", "debug", "info", "warn", "error":
	default:
		errs = append(errs, &KeyError{Key: KeyLogLevel, Err: fmt.Errorf("%w: must be one of %s", ErrInvalid, strings.Join(LogLevels, ", "))})
	}
	return errors.Join(errs...)
}

// validBucket checks the S3 bucket naming rules that matter in practice.
func validBucket(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("%w: bucket names are 3-63 characters", ErrInvalid)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
		if !ok {
			return fmt.Errorf("%w: bucket names use lower-case letters, digits, - and .", ErrInvalid)
		}
		if (i == 0 || i == len(name)-1) && (c == '-' || c == '.') {
			return fmt.Errorf("%w: bucket names start and end with a letter or digit", ErrInvalid)
		}
	}
	return nil
}

func validQueue(name string) bool {
	name = strings.TrimSuffix(name, ".fifo")
	if name == "" || len(name) > 75 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
