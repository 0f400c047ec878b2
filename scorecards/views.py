from django.shortcuts import render


def index(request):
    return render(request, "scorecards/index.html")


def dora_index(request):
    return render(request, "scorecards/dora_index.html")
