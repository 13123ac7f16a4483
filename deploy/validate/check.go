package main

import (
	"fmt"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// allowedGroups are the API group versions a manifest may use. Only stable versions:
// a manifest on a beta or removed version (policy/v1beta1, autoscaling/v2beta2) fails
// here rather than when applied. monitoring.coreos.com is the Prometheus Operator's,
// checked against its published Go types like the built-in kinds.
var allowedGroups = []func(*runtime.Scheme) error{
	corev1.AddToScheme,
	appsv1.AddToScheme,
	autoscalingv2.AddToScheme,
	batchv1.AddToScheme,
	networkingv1.AddToScheme,
	policyv1.AddToScheme,
	rbacv1.AddToScheme,
	monitoringv1.AddToScheme,
}

// Checker decodes manifests into their typed API objects, refusing what the types do not
// describe.
type Checker struct {
	scheme  *runtime.Scheme
	decoder runtime.Decoder
}

func NewChecker() (*Checker, error) {
	scheme := runtime.NewScheme()
	for _, add := range allowedGroups {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	// Strict: unknown and duplicate fields are errors, and field names match case-
	// sensitively (Go's encoding/json alone would take "readOnlyRootFileSystem").
	options := kjson.SerializerOptions{Yaml: true, Strict: true}
	decoder := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, options)
	return &Checker{scheme: scheme, decoder: decoder}, nil
}

// Check returns the typed object of one YAML document, or why it is not a valid one.
func (c *Checker) Check(document []byte) (runtime.Object, error) {
	object, gvk, err := c.decoder.Decode(document, nil, nil)
	if runtime.IsNotRegisteredError(err) {
		return nil, fmt.Errorf("%v; the allowed kinds are those of %s", err, c.groups())
	}
	if err != nil {
		return nil, err
	}
	accessor, err := meta.Accessor(object)
	if err != nil {
		return nil, err
	}
	nameRule := apivalidation.NameIsDNSSubdomain
	if gvk.Group == "" && gvk.Kind == "Service" {
		nameRule = apivalidation.NameIsDNS1035Label
	}
	hasNamespace := accessor.GetNamespace() != ""
	problems := apivalidation.ValidateObjectMetaAccessor(accessor, hasNamespace, nameRule, field.NewPath("metadata"))
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s %q: %v", gvk.Kind, accessor.GetName(), problems.ToAggregate())
	}
	return object, nil
}

func (c *Checker) groups() string {
	var names []string
	for _, version := range c.scheme.PrioritizedVersionsAllGroups() {
		names = append(names, version.String())
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
