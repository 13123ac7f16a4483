package main

// The overlays under ../kustomize, built as `kubectl apply -k` would build them, keep the
// promises docs/scaling.md makes: hardened pods, probes, selectors that match, and
// references that resolve. The schema check alone would pass a Deployment without them.

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

const (
	kustomizeRoot = "../kustomize"
	imageUID      = 10001 // the Dockerfile's USER
	// Made by hand from the key directory (components/jwt-keys says why).
	externalSecret = "quizauth-jwt-keys"
)

// built holds one overlay's objects by kind.
type built struct {
	deployments map[string]*appsv1.Deployment
	services    []*corev1.Service
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
	policies    []*networkingv1.NetworkPolicy
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
}

func overlays(t *testing.T) []string {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(kustomizeRoot, "overlays", "*", "kustomization.yaml"))
	if err != nil || len(found) == 0 {
		t.Fatalf("no overlay found: %v", err)
	}
	for i, path := range found {
		found[i] = filepath.Dir(path)
	}
	return found
}

func buildOverlay(t *testing.T, checker *Checker, dir string) built {
	t.Helper()
	loaded, err := Load(kustomizeRoot, dir)
	if err != nil {
		t.Fatal(err)
	}
	b := built{
		deployments: map[string]*appsv1.Deployment{},
		configMaps:  map[string]*corev1.ConfigMap{},
		secrets:     map[string]*corev1.Secret{},
	}
	for _, doc := range loaded.Documents {
		object, err := checker.Check(doc.YAML)
		if err != nil {
			t.Fatalf("%s: %v", doc.Origin, err)
		}
		b.add(object)
	}
	return b
}

func (b *built) add(object runtime.Object) {
	switch o := object.(type) {
	case *appsv1.Deployment:
		b.deployments[o.Name] = o
	case *corev1.Service:
		b.services = append(b.services, o)
	case *autoscalingv2.HorizontalPodAutoscaler:
		b.hpas = append(b.hpas, o)
	case *policyv1.PodDisruptionBudget:
		b.pdbs = append(b.pdbs, o)
	case *networkingv1.NetworkPolicy:
		b.policies = append(b.policies, o)
	case *corev1.ConfigMap:
		b.configMaps[o.Name] = o
	case *corev1.Secret:
		b.secrets[o.Name] = o
	}
}

func forEachOverlay(t *testing.T, test func(t *testing.T, b built)) {
	checker := newChecker(t)
	for _, dir := range overlays(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) { test(t, buildOverlay(t, checker, dir)) })
	}
}

func TestPodsAreHardened(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, b built) {
		if len(b.deployments) != 2 {
			t.Fatalf("expected the API and the consumer, got %d Deployments", len(b.deployments))
		}
		for name, deployment := range b.deployments {
			pod := deployment.Spec.Template.Spec
			security := pod.SecurityContext
			if security == nil || !isTrue(security.RunAsNonRoot) || security.RunAsUser == nil ||
				*security.RunAsUser != imageUID || security.SeccompProfile == nil ||
				security.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: pod must run as non-root uid %d under RuntimeDefault seccomp", name, imageUID)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Errorf("%s: mounts a service account token it never uses", name)
			}
			for _, container := range pod.Containers {
				checkContainer(t, name, pod, container)
			}
		}
	})
}

func checkContainer(t *testing.T, deployment string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	where := deployment + "/" + c.Name
	s := c.SecurityContext
	if s == nil || s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation ||
		!isTrue(s.ReadOnlyRootFilesystem) || s.Capabilities == nil ||
		len(s.Capabilities.Drop) != 1 || s.Capabilities.Drop[0] != "ALL" {
		t.Errorf("%s: needs no privilege escalation, a read-only root and capabilities ALL dropped", where)
	}
	for _, resource := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if c.Resources.Requests.Name(resource, "").IsZero() || c.Resources.Limits.Name(resource, "").IsZero() {
			t.Errorf("%s: %s needs a request and a limit", where, resource)
		}
	}
	if !mountsEmptyDir(pod, c, "/tmp") {
		t.Errorf("%s: /tmp must be a writable emptyDir over the read-only root", where)
	}
	if c.StartupProbe == nil || c.LivenessProbe == nil {
		t.Errorf("%s: needs a startup and a liveness probe", where)
	}
	if !strings.Contains(c.Image, ":") {
		t.Errorf("%s: image %q has no tag; the overlay sets one", where, c.Image)
	}
}

func TestAPIPodsServeAndLeaveGracefully(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, b built) {
		api := b.deployments["quizauth-api"]
		if api == nil {
			t.Fatal("no quizauth-api Deployment")
		}
		if api.Spec.Replicas != nil {
			t.Error("replicas is set: each apply would undo the autoscaler's choice")
		}
		c := api.Spec.Template.Spec.Containers[0]
		if path := httpPath(c.ReadinessProbe); path != "/health/ready" {
			t.Errorf("readiness probe asks %q, not /health/ready", path)
		}
		if path := httpPath(c.LivenessProbe); path != "/health/live" {
			t.Errorf("liveness probe asks %q, not /health/live", path)
		}
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil ||
			(c.Lifecycle.PreStop.Sleep == nil && c.Lifecycle.PreStop.Exec == nil) {
			t.Error("no preStop delay: requests still routed to a stopping pod would fail")
		}
		if !hashConcurrencyFollowsCPULimit(c) {
			t.Error("AUTH_HASH_CONCURRENCY must come from limits.cpu")
		}
	})
}

func TestAutoscalerAndBudgetCoverTheAPI(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, b built) {
		if len(b.hpas) != 1 {
			t.Fatalf("expected one HorizontalPodAutoscaler, got %d", len(b.hpas))
		}
		hpa := b.hpas[0]
		target := hpa.Spec.ScaleTargetRef
		if target.Kind != "Deployment" || b.deployments[target.Name] == nil {
			t.Errorf("autoscaler targets %s %q, which this build does not have", target.Kind, target.Name)
		}
		if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
			t.Error("autoscaler needs at least 2 replicas (one pod is no availability) and max >= min")
		}
		if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].Resource == nil ||
			hpa.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
			t.Error("autoscaler must scale on CPU")
		}
		for _, pdb := range b.pdbs {
			if selected(b, pdb.Spec.Selector.MatchLabels) == "" {
				t.Errorf("PodDisruptionBudget %s selects no Deployment's pods", pdb.Name)
			}
		}
	})
}

func TestServicesAndPoliciesSelectTheirPods(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, b built) {
		for _, service := range b.services {
			name := selected(b, service.Spec.Selector)
			if name == "" {
				t.Fatalf("Service %s selects no Deployment's pods", service.Name)
			}
			for _, port := range service.Spec.Ports {
				if !hasPort(b.deployments[name], port.TargetPort.String()) {
					t.Errorf("Service %s targets port %s, which %s does not name", service.Name, port.TargetPort.String(), name)
				}
			}
		}
		covered := map[string]bool{}
		for _, policy := range b.policies {
			name := selected(b, policy.Spec.PodSelector.MatchLabels)
			if name == "" {
				t.Fatalf("NetworkPolicy %s selects no Deployment's pods", policy.Name)
			}
			if len(policy.Spec.PolicyTypes) != 2 {
				t.Errorf("NetworkPolicy %s must restrict both ingress and egress", policy.Name)
			}
			covered[name] = true
		}
		for name := range b.deployments {
			if !covered[name] {
				t.Errorf("no NetworkPolicy selects %s", name)
			}
		}
	})
}

func TestReferencedConfigAndSecretsExist(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, b built) {
		secretsByDeployment := map[string][]string{}
		for name, deployment := range b.deployments {
			pod := deployment.Spec.Template.Spec
			for _, source := range pod.Containers[0].EnvFrom {
				if ref := source.ConfigMapRef; ref != nil && b.configMaps[ref.Name] == nil {
					t.Errorf("%s reads ConfigMap %s, which the build lacks", name, ref.Name)
				}
				if ref := source.SecretRef; ref != nil {
					if b.secrets[ref.Name] == nil {
						t.Errorf("%s reads Secret %s, which the build lacks", name, ref.Name)
					}
					secretsByDeployment[name] = append(secretsByDeployment[name], ref.Name)
				}
			}
			for _, volume := range pod.Volumes {
				if s := volume.Secret; s != nil && b.secrets[s.SecretName] == nil && s.SecretName != externalSecret {
					t.Errorf("%s mounts Secret %s, which the build lacks", name, s.SecretName)
				}
			}
		}
		for _, secret := range secretsByDeployment["quizauth-quiz-profiles"] {
			if _, signs := b.secrets[secret].Data["AUTH_JWT_SECRET"]; signs {
				t.Error("the consumer is given the signing secret")
			}
		}
	})
}

func TestSettingsAreForProductionBehindTrustedProxies(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, b built) {
		if len(b.configMaps) != 1 {
			t.Fatalf("expected one ConfigMap, got %d", len(b.configMaps))
		}
		for _, config := range b.configMaps {
			if config.Data["AUTH_ENV"] != "production" {
				t.Errorf("AUTH_ENV is %q", config.Data["AUTH_ENV"])
			}
			proxies := config.Data["AUTH_TRUSTED_PROXIES"]
			if proxies == "" {
				t.Error("AUTH_TRUSTED_PROXIES is unset: every client would share the ingress controller's rate limits")
				continue
			}
			for _, network := range strings.Split(proxies, ",") {
				if _, _, err := net.ParseCIDR(strings.TrimSpace(network)); err != nil {
					t.Errorf("AUTH_TRUSTED_PROXIES: %v", err)
				}
			}
		}
	})
}

// The committed .example files stand for git-ignored secrets: they must hold none.
func TestSecretExamplesHoldNoValues(t *testing.T) {
	examples, err := filepath.Glob(filepath.Join(kustomizeRoot, "overlays", "*", "secrets", "*.env.example"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no secret example found: %v", err)
	}
	for _, path := range examples {
		content, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(content), "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if _, value, _ := strings.Cut(line, "="); value != "" {
				t.Errorf("%s: %q has a value", path, line)
			}
		}
	}
}

func isTrue(value *bool) bool { return value != nil && *value }

func httpPath(probe *corev1.Probe) string {
	if probe == nil || probe.HTTPGet == nil {
		return ""
	}
	return probe.HTTPGet.Path
}

func hashConcurrencyFollowsCPULimit(c corev1.Container) bool {
	for _, env := range c.Env {
		if env.Name == "AUTH_HASH_CONCURRENCY" && env.ValueFrom != nil && env.ValueFrom.ResourceFieldRef != nil {
			return env.ValueFrom.ResourceFieldRef.Resource == "limits.cpu"
		}
	}
	return false
}

func mountsEmptyDir(pod corev1.PodSpec, c corev1.Container, path string) bool {
	for _, mount := range c.VolumeMounts {
		if mount.MountPath != path {
			continue
		}
		for _, volume := range pod.Volumes {
			if volume.Name == mount.Name && volume.EmptyDir != nil {
				return true
			}
		}
	}
	return false
}

// selected names the one Deployment whose pods the selector picks, or "" for none or
// several.
func selected(b built, selector map[string]string) string {
	if len(selector) == 0 {
		return ""
	}
	found := ""
	for name, deployment := range b.deployments {
		if labels.SelectorFromSet(selector).Matches(labels.Set(deployment.Spec.Template.Labels)) {
			if found != "" {
				return ""
			}
			found = name
		}
	}
	return found
}

func hasPort(deployment *appsv1.Deployment, name string) bool {
	for _, c := range deployment.Spec.Template.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == name {
				return true
			}
		}
	}
	return false
}
