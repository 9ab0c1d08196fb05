/* The Element Plus components registered globally in plugins/element.ts, for vue-tsc. With
   `checkUnknownComponents` on, a template that uses one not listed here fails the type check. */
import type * as EP from 'element-plus';

declare module 'vue' {
  export interface GlobalComponents {
    ElAlert: typeof EP.ElAlert;
    ElBadge: typeof EP.ElBadge;
    ElButton: typeof EP.ElButton;
    ElCascader: typeof EP.ElCascader;
    ElCheckbox: typeof EP.ElCheckbox;
    ElCheckboxGroup: typeof EP.ElCheckboxGroup;
    ElConfigProvider: typeof EP.ElConfigProvider;
    ElDatePicker: typeof EP.ElDatePicker;
    ElDescriptions: typeof EP.ElDescriptions;
    ElDescriptionsItem: typeof EP.ElDescriptionsItem;
    ElDialog: typeof EP.ElDialog;
    ElDivider: typeof EP.ElDivider;
    ElDrawer: typeof EP.ElDrawer;
    ElDropdown: typeof EP.ElDropdown;
    ElDropdownItem: typeof EP.ElDropdownItem;
    ElDropdownMenu: typeof EP.ElDropdownMenu;
    ElEmpty: typeof EP.ElEmpty;
    ElForm: typeof EP.ElForm;
    ElFormItem: typeof EP.ElFormItem;
    ElInput: typeof EP.ElInput;
    ElLink: typeof EP.ElLink;
    ElMenu: typeof EP.ElMenu;
    ElMenuItem: typeof EP.ElMenuItem;
    ElOption: typeof EP.ElOption;
    ElPagination: typeof EP.ElPagination;
    ElPopover: typeof EP.ElPopover;
    ElProgress: typeof EP.ElProgress;
    ElRadio: typeof EP.ElRadio;
    ElRadioButton: typeof EP.ElRadioButton;
    ElRadioGroup: typeof EP.ElRadioGroup;
    ElSelect: typeof EP.ElSelect;
    ElSkeleton: typeof EP.ElSkeleton;
    ElTabPane: typeof EP.ElTabPane;
    ElTable: typeof EP.ElTable;
    ElTableColumn: typeof EP.ElTableColumn;
    ElTabs: typeof EP.ElTabs;
    ElTag: typeof EP.ElTag;
    ElTimeline: typeof EP.ElTimeline;
    ElTimelineItem: typeof EP.ElTimelineItem;
    ElTooltip: typeof EP.ElTooltip;
    ElUpload: typeof EP.ElUpload;
  }
  export interface GlobalDirectives {
    vLoading: typeof EP.vLoading;
  }
}

export {};
