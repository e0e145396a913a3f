package fabnet

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// setting is one value to set in a YAML document, at a dotted path such as
// "peer.gossip.reconnectInterval".
type setting struct {
	path  string
	value any
}

// patchYAML returns the document src with every setting applied. Keys are
// matched case-insensitively (Fabric reads its configuration through viper,
// which ignores case); missing keys are created. Comments are kept.
func patchYAML(src []byte, settings []setting) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("parse YAML: not a single document")
	}
	for _, s := range settings {
		var val yaml.Node
		if err := val.Encode(s.value); err != nil {
			return nil, fmt.Errorf("encode %s: %w", s.path, err)
		}
		if err := setNode(doc.Content[0], strings.Split(s.path, "."), &val); err != nil {
			return nil, fmt.Errorf("set %s: %w", s.path, err)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(4)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// setNode sets the value at path below the mapping node m.
func setNode(m *yaml.Node, path []string, val *yaml.Node) error {
	if m.Kind != yaml.MappingNode {
		// An empty value ("key:") parses as a null scalar: make it a mapping.
		if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
			*m = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		} else {
			return fmt.Errorf("%s is not a mapping", path[0])
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if !strings.EqualFold(m.Content[i].Value, path[0]) {
			continue
		}
		if len(path) == 1 {
			m.Content[i+1] = val
			return nil
		}
		return setNode(m.Content[i+1], path[1:], val)
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: path[0]}
	if len(path) == 1 {
		m.Content = append(m.Content, key, val)
		return nil
	}
	child := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, key, child)
	return setNode(child, path[1:], val)
}
