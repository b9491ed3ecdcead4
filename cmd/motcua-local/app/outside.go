package app

// The local stand-ins for the outside world the consumers talk to: the dev
// SMTP and SMS sinks (infra/devsink) for notify, and the national portal
// simulator (cmd/dvcqg-sim/sim) for dvcqg-sync. They start before the
// functions, whose environment is pointed at them (overriding stack.yml's
// production endpoints).

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"motcua/cmd/dvcqg-sim/sim"
	"motcua/infra/devsink"
	"motcua/shared/dvcqg"
	"motcua/shared/notify"
)

// Local identity of the portal simulator.
const (
	localDVCQGUser = "motcua-local"
	localDVCQGUnit = "000.00.00.H00"
)

// startOutside starts the sinks and the simulator and adds their endpoints
// to env.
func (a *App) startOutside(env map[string]string) error {
	sinks, err := devsink.Start(devsink.Options{Dir: filepath.Join(a.cfg.DataDir, "devsink"), Logger: a.log.With("component", "devsink")})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.sinks = sinks
	env[notify.KeySMTPAddr] = sinks.SMTPAddr()
	env[notify.KeySMTPSecurity] = notify.SMTPPlain
	env[notify.KeySMTPUsername] = ""
	env[notify.KeySMSURL] = sinks.SMSURL()

	if err := os.MkdirAll(a.cfg.SecretsDir, 0o700); err != nil {
		return fmt.Errorf("app: %w", err)
	}
	pw, err := ensureSecret(filepath.Join(a.cfg.SecretsDir, dvcqg.SecretPassword))
	if err != nil {
		return fmt.Errorf("app: dvcqg password: %w", err)
	}
	a.dvcqg = sim.New(localDVCQGUser, pw, localDVCQGUnit)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("app: dvcqg simulator: %w", err)
	}
	a.dvcqgSrv = &http.Server{Handler: a.dvcqg.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.dvcqgSrv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	a.dvcqgURL = base
	env[dvcqg.KeyURL] = base + sim.PathIntegration
	env[dvcqg.KeyAuthURL] = base + sim.PathAuth
	env[dvcqg.KeyUsername] = localDVCQGUser
	env[dvcqg.KeyUnitCode] = localDVCQGUnit
	a.log.Info("outside-world stand-ins ready", "smtp", sinks.SMTPAddr(), "sms", sinks.SMSURL(), "dvcqg", base)
	return nil
}

// ensureSecret returns the secret file's value, creating a random one first.
func ensureSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	v := rand.Text()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		b, err := os.ReadFile(path)
		return string(b), err
	}
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(v); err != nil {
		f.Close()
		return "", err
	}
	return v, f.Close()
}

// DevSinks are the dev SMTP and SMS sinks notify sends to.
func (a *App) DevSinks() *devsink.Sinks { return a.sinks }

// DVCQGSim is the national portal simulator dvcqg-sync sends to.
func (a *App) DVCQGSim() *sim.Sim { return a.dvcqg }

// DVCQGSimURL is the simulator's base URL (GET <url>/_sim/received lists
// what it accepted; POST <url>/_sim/control sets failures).
func (a *App) DVCQGSimURL() string { return a.dvcqgURL }
