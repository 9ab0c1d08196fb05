/**
 * Element Plus, registered component by component (only what the console uses goes into the
 * bundle); its stylesheet is imported once in main.ts.
 */
import type { App, Component } from 'vue';
import {
  ElAlert, ElBadge, ElButton, ElCascader, ElCheckbox, ElCheckboxGroup, ElConfigProvider, ElDatePicker, ElDescriptions, ElDescriptionsItem, ElDialog,
  ElDivider, ElDrawer, ElDropdown, ElDropdownItem, ElDropdownMenu, ElEmpty, ElForm, ElFormItem, ElInput, ElLink, ElLoading, ElMenu,
  ElMenuItem, ElOption, ElPagination, ElPopover, ElProgress, ElRadio, ElRadioButton, ElRadioGroup, ElSelect, ElSkeleton, ElTabPane, ElTable,
  ElTableColumn, ElTabs, ElTag, ElTimeline, ElTimelineItem, ElTooltip, ElUpload,
} from 'element-plus';

const COMPONENTS: Record<string, Component> = {
  ElAlert, ElBadge, ElButton, ElCascader, ElCheckbox, ElCheckboxGroup, ElConfigProvider, ElDatePicker, ElDescriptions, ElDescriptionsItem, ElDialog,
  ElDivider, ElDrawer, ElDropdown, ElDropdownItem, ElDropdownMenu, ElEmpty, ElForm, ElFormItem, ElInput, ElLink, ElMenu, ElMenuItem,
  ElOption, ElPagination, ElPopover, ElProgress, ElRadio, ElRadioButton, ElRadioGroup, ElSelect, ElSkeleton, ElTabPane, ElTable, ElTableColumn,
  ElTabs, ElTag, ElTimeline, ElTimelineItem, ElTooltip, ElUpload,
};

export function installElement(app: App) {
  for (const [name, component] of Object.entries(COMPONENTS)) app.component(name, component);
  app.directive('loading', ElLoading.directive);
}

/** The registered names, for type checking templates (see components.d.ts). */
export type RegisteredElement = keyof typeof COMPONENTS;
