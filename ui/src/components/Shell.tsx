// The frame of every page behind login: the menu (pages and external tools), the settings
// (language, display time zone, colour scheme) and the user.
import {
  ActionIcon,
  Anchor,
  AppShell,
  Burger,
  Group,
  Menu,
  NavLink,
  Select,
  Stack,
  Text,
  Title,
  useMantineColorScheme,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconExternalLink, IconLogout, IconMoon, IconSettings, IconSun, IconSunMoon, IconUser } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { call, gatewayApi } from "../api/client";
import { useCaller } from "../auth";
import { LANGUAGES, useI18n, type Language, type Key } from "../i18n";
import { allTimeZones, browserTimeZone, useTimeZone } from "../time";

const PAGES: { to: string; label: Key }[] = [
  { to: "/catalog", label: "nav.catalog" },
  { to: "/deployments", label: "nav.deployments" },
  { to: "/history", label: "nav.history" },
];

const LANGUAGE_NAMES: Record<Language, string> = { en: "English", fr: "Français", "pt-BR": "Português (Brasil)" };

export function Shell({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const [opened, { toggle, close }] = useDisclosure();
  const location = useLocation();
  const links = useQuery({
    queryKey: ["links"],
    queryFn: () => call("GET /api/links", gatewayApi.GET("/api/links")),
    staleTime: 10 * 60_000,
  });
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t("nav.menu")} />
            <Anchor component={Link} to="/deployments" underline="never" c="inherit">
              <Title order={1} size="h4">
                Job Orchestrator
              </Title>
            </Anchor>
          </Group>
          <Group gap="xs" wrap="nowrap">
            <ColorSchemeToggle />
            <SettingsMenu />
            <UserMenu />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label={t("nav.menu")}>
        <Stack gap={2}>
          {PAGES.map((page) => (
            <NavLink
              key={page.to}
              component={Link}
              to={page.to}
              label={t(page.label)}
              active={location.pathname.startsWith(page.to)}
              variant="filled"
              onClick={close}
            />
          ))}
        </Stack>
        {links.data && links.data.length > 0 && (
          <Stack gap={2} mt="lg">
            <Text size="xs" c="dimmed" px="sm">
              {t("nav.tools")}
            </Text>
            {links.data.map((link) => (
              <NavLink
                key={link.name}
                href={link.url}
                target="_blank"
                rel="noopener noreferrer"
                label={link.name}
                description={link.description}
                rightSection={<IconExternalLink size={14} aria-hidden />}
              />
            ))}
          </Stack>
        )}
      </AppShell.Navbar>
      <AppShell.Main>{children}</AppShell.Main>
    </AppShell>
  );
}

function ColorSchemeToggle() {
  const { t } = useI18n();
  const { colorScheme, setColorScheme } = useMantineColorScheme();
  const next = colorScheme === "auto" ? "light" : colorScheme === "light" ? "dark" : "auto";
  const Icon = colorScheme === "auto" ? IconSunMoon : colorScheme === "light" ? IconSun : IconMoon;
  return (
    <ActionIcon
      variant="default"
      size="lg"
      onClick={() => setColorScheme(next)}
      aria-label={t("settings.colorScheme", { current: t(`settings.scheme.${colorScheme}` as Key) })}
      title={t("settings.colorScheme", { current: t(`settings.scheme.${colorScheme}` as Key) })}
      data-testid="color-scheme"
    >
      <Icon size={18} />
    </ActionIcon>
  );
}

function SettingsMenu() {
  const { t, language, setLanguage } = useI18n();
  const { chosen, setZone } = useTimeZone();
  const browser = browserTimeZone();
  return (
    <Menu width={300} position="bottom-end" closeOnItemClick={false}>
      <Menu.Target>
        <ActionIcon variant="default" size="lg" aria-label={t("settings.title")}>
          <IconSettings size={18} />
        </ActionIcon>
      </Menu.Target>
      <Menu.Dropdown p="sm">
        <Stack gap="sm">
          <Select
            label={t("settings.language")}
            data={LANGUAGES.map((value) => ({ value, label: LANGUAGE_NAMES[value] }))}
            value={language}
            onChange={(value) => value && setLanguage(value as Language)}
            allowDeselect={false}
            comboboxProps={{ withinPortal: false }}
          />
          <Select
            label={t("settings.timeZone")}
            description={t("settings.timeZoneHelp")}
            data={[{ value: "", label: t("settings.browserZone", { zone: browser }) }, ...allTimeZones().map((zone) => ({ value: zone, label: zone }))]}
            value={chosen ?? ""}
            onChange={(value) => setZone(value || null)}
            searchable
            allowDeselect={false}
            comboboxProps={{ withinPortal: false }}
          />
        </Stack>
      </Menu.Dropdown>
    </Menu>
  );
}

function UserMenu() {
  const { t } = useI18n();
  const caller = useCaller();
  const navigate = useNavigate();
  const client = useQueryClient();
  const logout = async () => {
    await gatewayApi.POST("/api/auth/logout").catch(() => undefined);
    client.clear();
    navigate("/login");
  };
  return (
    <Menu position="bottom-end">
      <Menu.Target>
        <ActionIcon variant="default" size="lg" aria-label={t("user.menu", { name: caller?.name ?? "" })}>
          <IconUser size={18} />
        </ActionIcon>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>
          {caller?.name} ({caller?.user}) · {caller?.roles.join(", ")}
        </Menu.Label>
        <Menu.Item leftSection={<IconLogout size={14} />} onClick={logout}>
          {t("user.logout")}
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}
