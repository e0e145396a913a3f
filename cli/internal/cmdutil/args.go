package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quanchain/quanchain/chaincode/model"
	"github.com/quanchain/quanchain/internal/resident"
)

// ExactArgs accepts exactly n positional arguments, named in the message
// (e.g. "a block number"), as a usage error otherwise.
func ExactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return UsageErrorf("%s takes %s (got %d argument(s))", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// NoArgs accepts no positional arguments.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return UsageErrorf("%s takes no arguments (got %q)", cmd.CommandPath(), args[0])
	}
	return nil
}

// NewGroup returns a command that only holds subcommands: run alone it
// prints its help; run with an unknown subcommand it is a usage error.
func NewGroup(use, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:                        use,
		Short:                      short,
		Long:                       long,
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %q?)", s[0])
			}
			return UsageErrorf("%s; run `%s --help` for the list", msg, cmd.CommandPath())
		},
	}
}

var (
	oldIDPattern = regexp.MustCompile(`^[0-9]{15}$`)
	hexPattern   = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// Citizen is a --citizen value: a citizenRef, or a citizen ID number that
// the operator's gateway turns into one. Its String never shows the ID
// number.
type Citizen struct {
	Ref      string // the citizenRef, 64 lower-case hex characters
	IDNumber string // or the ID number (normalised), to be resolved
}

// String describes the value without the ID number.
func (c Citizen) String() string {
	if c.IDNumber != "" {
		return "an ID number"
	}
	return c.Ref
}

// ParseCitizen checks a --citizen value: a citizenRef (64 hex characters),
// or an 18-character ID number that the operator's gateway would accept
// (GB 11643: a known province, a date of birth from 1900 to today and the
// ISO 7064 MOD 11-2 check character; see [resident.Valid]). The ID number
// is never echoed in an error.
func ParseCitizen(flag, s string) (Citizen, error) {
	s = strings.TrimSpace(s)
	switch {
	case hexPattern.MatchString(s):
		return Citizen{Ref: strings.ToLower(s)}, nil
	case oldIDPattern.MatchString(s):
		return Citizen{}, UsageErrorf("%s: a 15-digit ID number is not accepted: give the 18-character number or the citizenRef", flag)
	}
	id := resident.Normalise(s)
	err := resident.Valid(id, time.Now())
	var reason string
	switch {
	case err == nil:
		return Citizen{IDNumber: id}, nil
	case errors.Is(err, resident.ErrIDChecksum):
		reason = "the check character is wrong (ISO 7064 MOD 11-2)"
	case errors.Is(err, resident.ErrIDRegion):
		reason = "the region code is unknown"
	case errors.Is(err, resident.ErrIDDate):
		reason = "the date of birth is not a date from 1900 to today"
	default: // not 17 digits and a digit or X
		return Citizen{}, UsageErrorf("%s takes a citizenRef (64 hex characters) or an 18-character ID number", flag)
	}
	return Citizen{}, UsageErrorf("%s: not an ID number: %s; check the number, or give the citizenRef", flag, reason)
}

// ResolveCitizen returns the citizenRef of c: c.Ref, or the ref the
// operator's pseudonym service gives for c.IDNumber.
func ResolveCitizen(ctx context.Context, c Citizen, pseudonym func(context.Context, string) (string, error)) (string, error) {
	if c.IDNumber == "" {
		return c.Ref, nil
	}
	if pseudonym == nil {
		return "", errors.New("no pseudonym service to turn the ID number into a citizenRef: give the citizenRef")
	}
	return pseudonym(ctx, c.IDNumber)
}

// ParseHash checks a hex SHA-256 digest argument and returns it lower-case.
func ParseHash(flag, s string) (string, error) {
	s = strings.TrimSpace(s)
	if !hexPattern.MatchString(s) {
		return "", UsageErrorf("%s takes a SHA-256 digest: 64 hex characters", flag)
	}
	return strings.ToLower(s), nil
}

// TimeRange is an inclusive time range from --since and --until; a zero
// bound is open.
type TimeRange struct {
	Since, Until time.Time
}

// ParseTimeRange reads --since and --until: RFC 3339 times, or dates
// (YYYY-MM-DD, UTC) meaning the start of the day for --since and its last
// millisecond for --until.
func ParseTimeRange(since, until string) (TimeRange, error) {
	var r TimeRange
	var err error
	if r.Since, err = parseTime("--since", since, false); err != nil {
		return r, err
	}
	if r.Until, err = parseTime("--until", until, true); err != nil {
		return r, err
	}
	if !r.Since.IsZero() && !r.Until.IsZero() && r.Until.Before(r.Since) {
		return r, UsageErrorf("--until (%s) is before --since (%s)", model.FormatTime(r.Until), model.FormatTime(r.Since))
	}
	return r, nil
}

func parseTime(flag, s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.Parse(model.DateFormat, s); err == nil {
		if endOfDay {
			return d.Add(24*time.Hour - time.Millisecond), nil
		}
		return d, nil
	}
	return time.Time{}, UsageErrorf("%s %q: want an RFC 3339 time (2026-11-28T09:00:00Z) or a date (2026-11-28)", flag, s)
}

// SinceArg is the lower bound as the chaincode takes it ("" for an open
// bound).
func (r TimeRange) SinceArg() string { return formatBound(r.Since) }

// UntilArg is the upper bound as the chaincode takes it ("" for an open
// bound).
func (r TimeRange) UntilArg() string { return formatBound(r.Until) }

func formatBound(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return model.FormatTime(t)
}

// Contains reports whether a ledger timestamp (RFC 3339) is in the range.
func (r TimeRange) Contains(ts string) bool {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return false
	}
	return (r.Since.IsZero() || !t.Before(r.Since)) && (r.Until.IsZero() || !t.After(r.Until))
}
