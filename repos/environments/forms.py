"""Forms for a repository's environment page."""

from __future__ import annotations

from django import forms

from repos.domains import HTTP_METHODS, DomainError, parse_domains
from repos.environments.services import (
    EnvironmentChangeError,
    parse_path_prefix,
    parse_variables,
    variable_name_check,
)
from repos.models import Environment, InternetPolicy, SandboxImage

IMAGE_LABELS = {
    SandboxImage.UNIVERSAL: "Universal: Python, Node.js (npm, pnpm, yarn), Go, Rust, Java 17 "
    "(Maven, Gradle), Ruby, C/C++ build tools",
    SandboxImage.SLIM: "Slim: Python, Node.js (npm), git and C build tools; a smaller image",
    SandboxImage.CUSTOM: "Custom image allowed by this installation",
}


def mono_text(label: str, *, rows: int, help_text: str = "") -> forms.CharField:
    """An optional multi-line field for code or one-entry-a-line text: monospace, no spelling."""
    return forms.CharField(
        required=False,
        label=label,
        widget=forms.Textarea(attrs={"rows": rows, "spellcheck": "false", "class": "mono"}),
        help_text=help_text,
    )


class EnvironmentForm(forms.Form):
    image = forms.ChoiceField(
        required=False,  # left out: the environment keeps its image
        widget=forms.RadioSelect,
        label="Sandbox image",
        help_text="One version of each language (Debian 12's: Python 3.11, Node.js 18, Go 1.19, "
        "Rust 1.63, Java 17, Ruby 3.1); the image has no other versions to choose from.",
    )
    custom_image = forms.ChoiceField(
        required=False,
        label="Custom image",
        help_text="Used when \u201cCustom image\u201d is chosen; the administrator lists the "
        "images allowed here (SANDBOX_ALLOWED_IMAGES).",
    )
    setup_script = mono_text(
        "Setup script",
        rows=8,
        help_text="Runs with bash in the repository's root before the agent starts; its exit "
        "code decides whether setup succeeded (and whether the prepared container is cached), "
        "so begin with set -e to stop at the first failing command. Secrets are visible only "
        "here.",
    )
    maintenance_script = mono_text(
        "Maintenance script",
        rows=4,
        help_text="Runs instead of the setup script when an attempt starts from the cached "
        "container (the branch may have changed since), e.g. pip install -e . or npm install. "
        "Same secrets, internet access and log as the setup script.",
    )
    path_prefix = mono_text(
        "PATH prefix",
        rows=2,
        help_text="Absolute folders, one per line, put in front of PATH for the setup script, "
        "the maintenance script and the agent (e.g. /workspace/node_modules/.bin). "
        "~/.local/bin, ~/go/bin, ~/.cargo/bin and npm's global bin are on PATH already.",
    )
    variables = mono_text(
        "Variables",
        rows=4,
        help_text="NAME=value, one per line. Visible to the setup script and the agent.",
    )
    internet_policy = forms.ChoiceField(
        choices=InternetPolicy.choices, widget=forms.RadioSelect, label="Agent internet access"
    )
    domain_lists = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Team domain lists"
    )
    allowed_domains = mono_text(
        "Other allowed domains",
        rows=4,
        help_text="One per line; *.example.com allows every subdomain.",
    )
    allowed_methods = forms.MultipleChoiceField(
        choices=[(m, m) for m in HTTP_METHODS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Allowed HTTP methods",
    )
    setup_internet_policy = forms.ChoiceField(
        choices=InternetPolicy.choices, widget=forms.RadioSelect, label="Setup internet access"
    )
    setup_domain_lists = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Setup: team domain lists"
    )
    setup_allowed_domains = mono_text("Setup: other allowed domains", rows=3)
    cache_ttl_hours = forms.IntegerField(
        min_value=0,
        max_value=720,
        label="Cache expiry (hours)",
        help_text="How long a prepared container image is reused; 0 disables the cache.",
    )

    # The page's fieldsets after the image choice, each field in the order it is shown.
    GROUPS = {
        "setup": ("setup_script", "maintenance_script", "variables", "path_prefix",
                  "cache_ttl_hours"),
        "agent_policy": ("internet_policy", "domain_lists", "allowed_domains", "allowed_methods"),
        "setup_policy": ("setup_internet_policy", "setup_domain_lists", "setup_allowed_domains"),
    }

    def __init__(
        self,
        *args,
        list_choices: list[tuple[str, str]],
        allowed_images: list[str] | None = None,
        read_only: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        allowed = list(allowed_images or [])
        current = str(self.initial.get("custom_image") or "")
        if current and current not in allowed:  # no longer allowed: shown, refused on save
            allowed.append(current)
        image_field = self.fields["image"]
        assert isinstance(image_field, forms.ChoiceField)
        image_field.choices = [
            (value, IMAGE_LABELS[SandboxImage(value)])
            for value in SandboxImage.values
            if value != SandboxImage.CUSTOM or allowed
        ]
        custom_field = self.fields["custom_image"]
        assert isinstance(custom_field, forms.ChoiceField)
        custom_field.choices = [("", "—"), *((name, name) for name in allowed)]
        if not allowed:
            custom_field.widget = forms.HiddenInput()
        for name in ("domain_lists", "setup_domain_lists"):
            field = self.fields[name]
            assert isinstance(field, forms.MultipleChoiceField)
            field.choices = list_choices
        if read_only:
            for f in self.fields.values():
                f.disabled = True

    @property
    def groups(self) -> dict[str, list[forms.BoundField]]:
        """The bound fields of each group in GROUPS, for the template to show in order."""
        return {group: [self[name] for name in names] for group, names in self.GROUPS.items()}

    @staticmethod
    def initial_for(environment: Environment) -> dict:
        return {
            "image": environment.image,
            "custom_image": environment.custom_image,
            "maintenance_script": environment.maintenance_script,
            "path_prefix": "\n".join(environment.path_prefix or []),
            "setup_script": environment.setup_script,
            "variables": "\n".join(f"{k}={v}" for k, v in (environment.variables or {}).items()),
            "internet_policy": environment.internet_policy,
            "domain_lists": [
                str(pk) for pk in environment.domain_lists.values_list("pk", flat=True)
            ],
            "allowed_domains": "\n".join(environment.allowed_domains),
            "allowed_methods": list(environment.allowed_methods),
            "setup_internet_policy": environment.setup_internet_policy,
            "setup_domain_lists": [
                str(pk) for pk in environment.setup_domain_lists.values_list("pk", flat=True)
            ],
            "setup_allowed_domains": "\n".join(environment.setup_allowed_domains),
            "cache_ttl_hours": environment.cache_ttl_hours,
        }

    def clean_variables(self) -> dict[str, str]:
        try:
            return parse_variables(self.cleaned_data["variables"])
        except EnvironmentChangeError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_path_prefix(self) -> list[str]:
        try:
            return parse_path_prefix(self.cleaned_data["path_prefix"])
        except EnvironmentChangeError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def _domains(self, name: str) -> list[str]:
        try:
            return parse_domains(self.cleaned_data[name])
        except DomainError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_allowed_domains(self) -> list[str]:
        return self._domains("allowed_domains")

    def clean_setup_allowed_domains(self) -> list[str]:
        return self._domains("setup_allowed_domains")

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("image") == SandboxImage.CUSTOM and not data.get("custom_image"):
            self.add_error("custom_image", "Choose which custom image to use.")
        if data.get("internet_policy") == InternetPolicy.ALLOWLIST:
            if not data.get("allowed_methods"):
                self.add_error("allowed_methods", "Allow at least one HTTP method.")
            if not data.get("allowed_domains") and not data.get("domain_lists"):
                self.add_error("allowed_domains", "An allowlist needs domains or a domain list.")
        return data


class SecretForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name")
    value = forms.CharField(
        label="Value",
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def clean_name(self) -> str:
        try:
            return variable_name_check(self.cleaned_data["name"])
        except EnvironmentChangeError as exc:
            raise forms.ValidationError(str(exc)) from exc
