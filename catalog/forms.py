from django import forms

from .models import Location
from .reading import guess_location_type


class RegisterLocationForm(forms.Form):
    type = forms.ChoiceField(
        choices=[("", "Detect from the target")] + list(Location.Type.choices), required=False,
        help_text="A git repository, an https URL of a catalog-info.yaml, or a folder on the portal's server.",
    )
    target = forms.CharField(
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": "https://git.example.com/team/service.git", "autofocus": True}),
    )
    git_ref = forms.CharField(
        max_length=255, required=False, label="Branch, tag or commit",
        widget=forms.TextInput(attrs={"placeholder": "main"}),
    )
    git_path = forms.CharField(
        max_length=1000, required=False, label="Path inside the repository",
        widget=forms.TextInput(attrs={"placeholder": "catalog-info.yaml"}),
    )

    def clean(self):
        data = super().clean()
        target = (data.get("target") or "").strip()
        if not target:
            return data
        data["target"] = target
        if not data.get("type"):
            data["type"] = guess_location_type(target)
        if data["type"] != Location.Type.GIT and (data.get("git_ref") or data.get("git_path")):
            self.add_error("git_ref", "A branch or path only applies to git repositories.")
        for field in ("git_ref", "git_path"):
            data[field] = (data.get(field) or "").strip()
        return data
