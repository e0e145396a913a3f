package devidp

import (
	"strings"
	"testing"
)

func TestLoginFields(t *testing.T) {
	for name, want := range map[string]bool{
		"张三": true, "阿依古丽·买买提": true, "John O'Neil-Smith": true, "Zoë": true, "": false,
		"张三<b>": false, "张\n三": false, "张三2": false, strings.Repeat("名", 65): false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v", name, got)
		}
	}
	for in, want := range map[string]string{
		"13800138000": "13800138000", "+8613800138000": "13800138000", "86 138 0013 8000": "13800138000",
		"+86 138-0013-8000": "13800138000", "12800138000": "", "1380013800": "", "053188888888": "", "": "",
	} {
		got, ok := NormalisePhone(in)
		if ok != (want != "") || (ok && got != want) {
			t.Errorf("NormalisePhone(%q) = %q, %v", in, got, ok)
		}
	}
	if c, err := OneTimeCode(); err != nil || len(c) != 6 || strings.Trim(c, "0123456789") != "" {
		t.Errorf("OneTimeCode() = %q, %v", c, err)
	}
}

func TestMatches(t *testing.T) {
	e := Entry{Name: " 张三 ", Phone: "+86 138 0013 8000"}
	for _, c := range []struct {
		name, phone string
		found, want bool
	}{
		{"张三", "13800138000", true, true},
		{"张三", "13800138001", true, false},
		{"李四", "13800138000", true, false},
		{"张三", "13800138000", false, false},
	} {
		if got := Matches(c.name, c.phone, e, c.found); got != c.want {
			t.Errorf("Matches(%q, %q, found=%v) = %v", c.name, c.phone, c.found, got)
		}
	}
}
