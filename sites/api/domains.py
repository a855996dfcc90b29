"""A site's domains: the default one and custom ones, which are routed once verified."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.roles import Action
from sites import domains
from sites.api.base import SiteView, django_errors
from sites.api.serializers import DomainCreateSerializer, DomainSerializer


class DomainList(SiteView):
    @extend_schema(responses=DomainSerializer(many=True))
    def get(self, request, name: str):
        site = self.member.site(name)
        return Response(DomainSerializer(site.domains.order_by("-is_default", "hostname"), many=True).data)

    @extend_schema(request=DomainCreateSerializer, responses={201: DomainSerializer})
    @django_errors
    def post(self, request, name: str):
        """Add a custom domain; it is routed once verified (see `verification`)."""
        site = self.member.site(name, Action.MANAGE_DOMAINS)
        data = DomainCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        domain = domains.add_domain(site, data.validated_data["hostname"])
        return Response(DomainSerializer(domain).data, status=status.HTTP_201_CREATED)


class DomainDetail(SiteView):
    @extend_schema(responses=DomainSerializer)
    def get(self, request, name: str, hostname: str):
        return Response(DomainSerializer(self.member.domain(name, hostname)).data)

    @extend_schema(responses={204: None})
    @django_errors
    def delete(self, request, name: str, hostname: str):
        domains.remove_domain(self.member.domain(name, hostname, Action.MANAGE_DOMAINS))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DomainVerify(SiteView):
    @extend_schema(request=None, responses=DomainSerializer)
    @django_errors
    def post(self, request, name: str, hostname: str):
        """Check the DNS TXT record or the HTTP token now; a verified domain is routed and gets a certificate."""
        domain = self.member.domain(name, hostname, Action.MANAGE_DOMAINS)
        return Response(DomainSerializer(domains.verify_domain(domain)).data)
