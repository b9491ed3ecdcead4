package dvcqg

import (
	"errors"

	"motcua/shared/config"
)

// LGSPFromConfig builds the LGSP client from configuration and secrets; the
// error names every missing key.
func LGSPFromConfig(src config.Source, secrets config.Secrets) (*LGSP, error) {
	r := config.NewReader(src)
	cfg := LGSPConfig{URL: r.String(KeyURL, config.Required()), AuthURL: r.String(KeyAuthURL),
		Username: r.String(KeyUsername), UnitCode: r.String(KeyUnitCode, config.Required())}
	pw, perr := secrets.Get(SecretPassword)
	if err := errors.Join(r.Err(), perr); err != nil {
		return nil, configError(err)
	}
	if cfg.AuthURL != "" {
		cfg.Password = pw
	} else {
		cfg.Token = pw
	}
	return NewLGSP(cfg)
}
