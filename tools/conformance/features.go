package conformance

import (
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/gateway-api/pkg/features"
)

// supportedFeaturesFile is the shape of src/gatewayapi/supported-features.json.
type supportedFeaturesFile struct {
	Features []string `json:"features"`
}

// ReadSupportedFeatures reads the claimed features from a supported-features.json file and
// rejects names the suite does not know (a typo would otherwise silently skip its tests).
func ReadSupportedFeatures(path string) ([]features.FeatureName, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file supportedFeaturesFile
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(file.Features) == 0 {
		return nil, fmt.Errorf("%s: no \"features\"", path)
	}
	known := features.SetsToNamesSet(features.AllFeatures)
	names := make([]features.FeatureName, 0, len(file.Features))
	for _, f := range file.Features {
		name := features.FeatureName(f)
		if !known.Has(name) {
			return nil, fmt.Errorf("%s: %q is not a feature of Gateway API conformance %s", path, f, SuiteVersion)
		}
		names = append(names, name)
	}
	return names, nil
}
