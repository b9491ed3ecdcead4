package main

import (
	"context"
	"errors"
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
	groups["token"] = group{summary: "mint development staff tokens", run: tokenCmd}
}

const tokenUsage = `usage:
  motcua token mint --sub officer1 --agency STP [--ttl 8h] [--roles staff] [--secret-file path] [--data-dir .data]

The HMAC secret (staff-jwt-secret) is read from --secret-file, else
$MOTCUA_SECRETS_DIR/staff-jwt-secret, else the local stack's dev secret
(<data-dir>/secrets/staff-jwt-secret, as motcua-local keeps it), else the
runner's default (<user config dir>/motcua/secrets/staff-jwt-secret).
The token is printed on stdout, nothing else.`

// maxTokenTTL bounds dev tokens: a leaked one should not live for long.
const maxTokenTTL = 7 * 24 * time.Hour

func tokenCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, tokenUsage)
	}
	switch args[0] {
	case "mint":
		return tokenMint(e, args[1:])
	default:
		return fmt.Errorf("%w: unknown token command %q\n%s", errUsage, args[0], tokenUsage)
	}
}

func tokenMint(e *env, args []string) error {
	fs := flag.NewFlagSet("token mint", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sub := fs.String("sub", "", "officer id (token subject)")
	agency := fs.String("agency", "", "agency code the officer works for")
	ttl := fs.Duration("ttl", 8*time.Hour, "validity")
	roles := fs.String("roles", staffauth.RoleStaff, "comma-separated roles")
	secretFile := fs.String("secret-file", "", "file holding the HMAC secret")
	dataDir := fs.String("data-dir", ".data", "motcua-local's data folder")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, tokenUsage)
	}
	if fs.NArg() > 0 || strings.TrimSpace(*sub) == "" || strings.TrimSpace(*agency) == "" {
		return fmt.Errorf("%w: --sub and --agency are required\n%s", errUsage, tokenUsage)
	}
	if *ttl <= 0 || *ttl > maxTokenTTL {
		return fmt.Errorf("%w: --ttl must be between 1s and %s\n%s", errUsage, maxTokenTTL, tokenUsage)
	}
	secret, from, err := tokenSecret(e.environ, *secretFile, *dataDir)
	if err != nil {
		return err
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rs = append(rs, r)
		}
	}
	tok, err := staffauth.Mint(secret, staffauth.Claims{Subject: strings.TrimSpace(*sub), Agency: strings.TrimSpace(*agency), Roles: rs}, *ttl)
	if err != nil {
		return fmt.Errorf("token mint (secret from %s): %w", from, err)
	}
	fmt.Fprintln(e.stdout, tok)
	fmt.Fprintf(e.stderr, "motcua: token for %s of %s, valid %s (secret from %s)\n", *sub, *agency, *ttl, from)
	return nil
}

// tokenSecret finds the staff secret; it returns the bytes and the path
// they came from (the value itself is never printed).
func tokenSecret(environ []string, secretFile, dataDir string) ([]byte, string, error) {
	var candidates []string
	if secretFile != "" {
		candidates = []string{secretFile} // explicit: no fallback
	} else {
		if d, ok := config.FromEnviron(environ).Lookup(config.SecretsDirKey); ok && d != "" {
			candidates = append(candidates, filepath.Join(d, staffauth.SecretName))
		}
		candidates = append(candidates, filepath.Join(dataDir, "secrets", staffauth.SecretName))
		if d, err := os.UserConfigDir(); err == nil {
			candidates = append(candidates, filepath.Join(d, "motcua", "secrets", staffauth.SecretName))
		}
	}
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) && secretFile == "" {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("token mint: read secret: %w", err)
		}
		// Same trimming as config.Secrets.Get: one trailing newline.
		s := string(b)
		if t, ok := strings.CutSuffix(s, "\r\n"); ok {
			s = t
		} else {
			s = strings.TrimSuffix(s, "\n")
		}
		if s == "" {
			return nil, "", fmt.Errorf("token mint: secret file %s is empty", p)
		}
		return []byte(s), p, nil
	}
	return nil, "", fmt.Errorf("token mint: no %s found (tried %s); pass --secret-file or start the local stack once", staffauth.SecretName, strings.Join(candidates, ", "))
}
