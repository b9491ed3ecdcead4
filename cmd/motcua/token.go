package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"motcua/shared/config"
	"motcua/shared/staffauth"
)

func init() {
	groups["token"] = group{summary: "mint development staff tokens, print public key sets", run: tokenCmd}
}

const tokenUsage = `usage:
  motcua token mint --sub officer1 --agency STP [--ttl 8h] [--roles staff[,admin]] [--name "Nguyễn Văn A"]
                    [--kid KID] [--secret-file path] [--data-dir .data]
  motcua token jwks [--secret-file path] [--data-dir .data] [--kid KID]

mint signs an EdDSA (or ES256) staff token with the private key
staff-jwt-private-key (PKCS #8 PEM); jwks prints the JWK Set holding that
key's public half (what the staff-jwt-public-keys secret holds; merge it
with the current set during a rotation). The key is read from
--secret-file, else $MOTCUA_SECRETS_DIR/staff-jwt-private-key, else the
local stack's dev secret (<data-dir>/secrets/, as motcua-local keeps it),
else the runner's default (<user config dir>/motcua/secrets/). --kid
defaults to the key's RFC 7638 thumbprint, the kid the runner publishes.
The token (or key set) is printed on stdout, nothing else.`

func tokenCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, tokenUsage)
	}
	switch args[0] {
	case "mint":
		return tokenMint(e, args[1:])
	case "jwks":
		return tokenJWKS(e, args[1:])
	default:
		return fmt.Errorf("%w: unknown token command %q\n%s", errUsage, args[0], tokenUsage)
	}
}

func tokenMint(e *env, args []string) error {
	fs := flag.NewFlagSet("token mint", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sub := fs.String("sub", "", "officer id (token subject)")
	agency := fs.String("agency", "", "agency code the officer works for")
	name := fs.String("name", "", "officer's display name")
	ttl := fs.Duration("ttl", 8*time.Hour, "validity")
	roles := fs.String("roles", staffauth.RoleStaff, "comma-separated roles (staff, admin)")
	kid := fs.String("kid", "", "key id written into the token (default: the key's thumbprint)")
	secretFile := fs.String("secret-file", "", "file holding the private key (PEM)")
	dataDir := fs.String("data-dir", ".data", "motcua-local's data folder")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, tokenUsage)
	}
	if fs.NArg() > 0 || strings.TrimSpace(*sub) == "" || strings.TrimSpace(*agency) == "" {
		return fmt.Errorf("%w: --sub and --agency are required\n%s", errUsage, tokenUsage)
	}
	if *ttl <= 0 || *ttl > staffauth.MaxLifetime {
		return fmt.Errorf("%w: --ttl must be between 1s and %s\n%s", errUsage, staffauth.MaxLifetime, tokenUsage)
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rs = append(rs, r)
		}
	}
	signer, from, err := tokenSigner(e.environ, *secretFile, *dataDir, *kid)
	if err != nil {
		return err
	}
	tok, err := signer.Mint(staffauth.Claims{Subject: strings.TrimSpace(*sub), Agency: strings.TrimSpace(*agency),
		Roles: rs, Name: strings.TrimSpace(*name)}, *ttl, time.Now())
	if err != nil {
		return fmt.Errorf("token mint (key from %s): %w", from, err)
	}
	fmt.Fprintln(e.stdout, tok)
	fmt.Fprintf(e.stderr, "motcua: token for %s of %s, roles %s, valid %s, kid %s (key from %s)\n",
		*sub, *agency, strings.Join(rs, ","), *ttl, signer.KeyID(), from)
	return nil
}

func tokenJWKS(e *env, args []string) error {
	fs := flag.NewFlagSet("token jwks", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	kid := fs.String("kid", "", "key id to publish (default: the key's thumbprint)")
	secretFile := fs.String("secret-file", "", "file holding the private key (PEM)")
	dataDir := fs.String("data-dir", ".data", "motcua-local's data folder")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, tokenUsage)
	}
	signer, _, err := tokenSigner(e.environ, *secretFile, *dataDir, *kid)
	if err != nil {
		return err
	}
	set, err := staffauth.PublicKeySet(signer)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(set)
	return err
}

// tokenSigner loads the private key and returns its signer and the path it
// came from (the key itself is never printed).
func tokenSigner(environ []string, secretFile, dataDir, kid string) (*staffauth.Signer, string, error) {
	path := secretFile
	if path == "" {
		dir, tried := findSecretsDir(environ, dataDir, staffauth.PrivateKeySecret)
		if dir == "" {
			return nil, "", fmt.Errorf("token: no %s found (tried %s); pass --secret-file or start the local stack once",
				staffauth.PrivateKeySecret, strings.Join(tried, ", "))
		}
		path = filepath.Join(dir, staffauth.PrivateKeySecret)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("token: read private key: %w", err)
	}
	s, err := staffauth.NewSigner(b, kid)
	if err != nil {
		return nil, "", fmt.Errorf("token: private key %s: %w", path, err)
	}
	return s, path, nil
}

// findSecretsDir returns the first folder holding the secret file name,
// looking where the local stack and deployments keep secrets:
// $MOTCUA_SECRETS_DIR when set (and then only there), else <dataDir>/secrets
// (motcua-local), the runner's default <user config dir>/motcua/secrets,
// then OpenFaaS's /var/openfaas/secrets. It returns "" and the paths tried when none has
// it. token mint and reconcile share it, so both find the same dev secrets.
func findSecretsDir(environ []string, dataDir, name string) (string, []string) {
	var dirs []string
	if d, ok := config.FromEnviron(environ).Lookup(config.SecretsDirKey); ok && d != "" {
		dirs = []string{d} // explicit: no fallback
	} else {
		if dataDir != "" {
			dirs = append(dirs, filepath.Join(dataDir, "secrets"))
		}
		if d, err := os.UserConfigDir(); err == nil {
			dirs = append(dirs, filepath.Join(d, "motcua", "secrets"))
		}
		dirs = append(dirs, config.DefaultSecretsDir)
	}
	var tried []string
	for _, d := range dirs {
		p := filepath.Join(d, name)
		tried = append(tried, p)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			return d, tried
		}
	}
	return "", tried
}
